"""ec2simlib: the code behind tests/ec2sim/ec2sim, a stateful EC2 and STS
Query-API simulator with an IMDSv2 endpoint and an admin interface.

One module per concern:
  main       command line, startup line, signals, persistence at shutdown
  server     the threaded HTTP server; routes /_sim/, /latest/ and the API
  api        the request pipeline: auth, faults, throttling, validation, dispatch
  sigv4      SigV4 verification with botocore's signer
  model      query-parameter parsing and validation against botocore's models
  xmlout     response and error XML generated from the models' output shapes
  store      the state: regions, records, indexes, keys; JSON save/load
  filters    EC2 filters and NextToken paging
  faults     injected faults and EC2's request token buckets
  calllog    the call log
  instances, images, image_attrs, snapshots, tags, templates, sts   actions
  imds       the IMDSv2 endpoint
  seed       bulk and detailed seeding (admin and --seed)
  admin      the /_sim/ JSON interface
"""
