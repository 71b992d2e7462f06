"""API errors as values: code, message and HTTP status, as EC2 and STS send them.

Actions raise ApiError; the pipeline in api.py renders it with the error shape of
the service that was called (EC2's Response/Errors/Error, STS's ErrorResponse).
"""


class ApiError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(f'{code}: {message}')
        self.code = code
        self.message = message
        self.status = status


def invalid_value(message):
    return ApiError('InvalidParameterValue', message)


def missing(name):
    return ApiError('MissingParameter',
                    f'The request must contain the parameter {name}')


def unknown_parameter(name):
    return ApiError('UnknownParameter', f'The parameter {name} is not recognized')


def combination(message):
    return ApiError('InvalidParameterCombination', message)


def not_authorized_for(kind, rid):
    # EC2 answers an attempt to change another account's image this way.
    return ApiError('AuthFailure', f'Not authorized for {kind}:{rid}', 401)
