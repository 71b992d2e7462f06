"""The call log: one entry per API and IMDS request, for tests to assert on.

Entries: {"seq", "time" (simulator clock), "action", "service" (ec2|sts|imds),
"region", "access_key", "params" (the flat form parameters), "status",
"error_code", "request_id", "fault" (the kind of fault that shaped the
answer, or null)}. Parameters carry no secrets (credentials travel in
headers), so they are logged whole.
"""
import threading


class CallLog:
    def __init__(self, limit=1_000_000):
        self.entries = []
        self.seq = 0
        self.limit = limit
        self.lock = threading.Lock()

    def add(self, entry):
        with self.lock:
            self.seq += 1
            entry['seq'] = self.seq
            self.entries.append(entry)
            if len(self.entries) > self.limit:
                del self.entries[:len(self.entries) - self.limit]
        return entry

    def query(self, since=0, action=None, service=None):
        with self.lock:
            return [e for e in self.entries
                    if e['seq'] > since
                    and (action is None or e['action'] == action)
                    and (service is None or e['service'] == service)]

    def clear(self):
        with self.lock:
            self.entries = []
