"""Every path into a nested spec (mapping keys and list indices), for tests that mutate one
place of a spec at a time."""


def spec_paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from spec_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from spec_paths(v, prefix + (i,))
