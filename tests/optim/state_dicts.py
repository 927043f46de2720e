"""Test helper shared by the optimizer and scheduler tests: a state dict's trip through a file."""

import json

import deltagrad as dg


def json_round_trip(state_dict):
    """What deltagrad.save/load does to a state dict: tensors stored apart, the rest as JSON
    (so int keys come back as str)."""
    tensors = {}

    def strip(value):
        if isinstance(value, dg.Tensor):
            name = f"t{len(tensors)}"
            tensors[name] = value._data.copy()
            return {"__tensor__": name}
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):  # (JSON has no tuples: they come back as lists)
            return [strip(item) for item in value]
        assert value is None or isinstance(value, (str, int, float, bool)), type(value)
        return value

    def restore(value):
        if isinstance(value, dict):
            if "__tensor__" in value:
                return dg.from_numpy(tensors[value["__tensor__"]])
            return {key: restore(item) for key, item in value.items()}
        if isinstance(value, list):
            return [restore(item) for item in value]
        return value

    return restore(json.loads(json.dumps(strip(state_dict))))
