"""The networks themselves: a multilayer perceptron for tables, built from torch's own classes only.

A fitted network is stored in model files as a plain description (``describe_network``): its layers and its weights
as NumPy arrays, from which ``rebuild_network`` makes the same module again. Model files then hold no torch objects,
which skops' safe format cannot store, and opening one constructs only the few layer classes named here.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

ACTIVATIONS = ("relu", "tanh", "gelu")
INITS = ("default", "he", "xavier")
# Bumped when the description's layout changes, so an older Studio refuses a newer file in words.
NETWORK_FORMAT = 1


def parse_layers(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in str(text).replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ValueError(f"hidden_layers must be whole numbers separated by commas, e.g. '64, 32'; got "
                         f"{text!r}.") from None
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(f"hidden_layers needs at least one layer of at least one unit; got {text!r}.")
    return sizes


def build_network(n_inputs: int, layers: tuple[int, ...], n_outputs: int, activation: str, init: str,
                  dropout: float) -> Any:
    """A plain ``nn.Sequential`` (Linear, activation, dropout, ... Linear): only torch's own classes, so it
    exports to TorchScript as is and ``describe_network`` can put it in plain words."""
    import torch
    from torch import nn

    make_activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}[activation]
    modules: list[nn.Module] = []
    width = n_inputs
    for size in layers:
        modules.append(nn.Linear(width, size))
        modules.append(make_activation())
        if dropout > 0:
            modules.append(nn.Dropout(dropout))
        width = size
    modules.append(nn.Linear(width, n_outputs))
    network = nn.Sequential(*modules)
    if init != "default":
        gains: dict[str, Literal["relu", "tanh"]] = {"relu": "relu", "tanh": "tanh", "gelu": "relu"}
        gain_name = gains[activation]
        with torch.no_grad():
            for module in network:
                if isinstance(module, nn.Linear):
                    if init == "he":
                        nn.init.kaiming_uniform_(module.weight, nonlinearity=gain_name)
                    else:
                        nn.init.xavier_uniform_(module.weight, gain=nn.init.calculate_gain(gain_name))
                    nn.init.zeros_(module.bias)
    return network


def describe_network(network: Any) -> dict[str, Any]:
    """The network as plain data: ``{"format", "layers": [{"kind": ..., sizes or settings}], "weights": {state_dict
    key: NumPy array}}``, holding only str, int, float, bool, lists, dicts and arrays."""
    from torch import nn

    if type(network) is not nn.Sequential:
        raise TypeError(f"Only an nn.Sequential built by build_network can be described; got {type(network)!r}.")
    layers: list[dict[str, Any]] = []
    for module in network:
        # Exact types only: a subclass could compute something else, and would come back as its parent.
        if type(module) not in (nn.Linear, nn.ReLU, nn.Tanh, nn.GELU, nn.Dropout):
            raise TypeError(f"The network holds a layer that cannot be described: {module!r}.")
        if isinstance(module, nn.Linear):
            layers.append({"kind": "linear", "in_features": int(module.in_features),
                           "out_features": int(module.out_features), "bias": module.bias is not None})
        elif isinstance(module, nn.ReLU):
            layers.append({"kind": "relu"})
        elif isinstance(module, nn.Tanh):
            layers.append({"kind": "tanh"})
        elif isinstance(module, nn.GELU):
            layers.append({"kind": "gelu", "approximate": str(module.approximate)})
        elif isinstance(module, nn.Dropout):
            layers.append({"kind": "dropout", "rate": float(module.p)})
    # Copies: the description must not change when training goes on (partial_fit) from the same module.
    weights = {key: value.detach().cpu().numpy().copy() for key, value in network.state_dict().items()}
    return {"format": NETWORK_FORMAT, "layers": layers, "weights": weights}


def rebuild_network(description: dict[str, Any]) -> Any:
    """The module ``describe_network`` described, with the same weights bit for bit, in eval mode on the CPU."""
    import torch
    from torch import nn

    if description.get("format") != NETWORK_FORMAT:
        raise ValueError(f"This network was saved in format {description.get('format')!r}; this version of Studio "
                         f"reads format {NETWORK_FORMAT}. A newer Studio may open it.")
    modules: list[nn.Module] = []
    for layer in description["layers"]:
        kind = layer["kind"]
        if kind == "linear":
            # On the meta device: no memory and no random numbers spent on weights that are replaced at once.
            modules.append(nn.Linear(int(layer["in_features"]), int(layer["out_features"]), bias=bool(layer["bias"]),
                                     device="meta"))
        elif kind == "relu":
            modules.append(nn.ReLU())
        elif kind == "tanh":
            modules.append(nn.Tanh())
        elif kind == "gelu":
            modules.append(nn.GELU(approximate=str(layer["approximate"])))
        elif kind == "dropout":
            modules.append(nn.Dropout(float(layer["rate"])))
        else:
            raise ValueError(f"Unknown layer kind in a saved network: {kind!r}.")
    network = nn.Sequential(*modules)
    # Own, writable, C-ordered copies: tensors share memory with the arrays they are made from.
    weights = {str(key): torch.from_numpy(np.array(value, order="C", copy=True))
               for key, value in description["weights"].items()}
    network.load_state_dict(weights, strict=True, assign=True)  # strict: missing or misshapen weights raise
    return network.eval()
