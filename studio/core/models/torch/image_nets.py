"""Networks for pictures: a small convolutional network trained from scratch, and torchvision's small pretrained
networks (MobileNetV3-small, ResNet-18) with a new last layer for the person's classes.

Every network takes uint8 pixels (N, C, H, W) as read from the files and scales and normalises them itself, so
the model file, its ONNX copy and the app all start from the same bytes. Saved, a network is plain data
(``describe_image_network``): the name of a known architecture, its sizes, and its weights as arrays; opening a
model file rebuilds it from that name (``rebuild_image_network``) and never runs code from the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGE_NETWORK_FORMAT = 1
SMALL_CNN = "small_cnn"
BACKBONES = ("mobilenet_v3_small", "resnet18")
ARCHITECTURES = (SMALL_CNN, *BACKBONES)
# What the pretrained networks learned on (ImageNet's channel means and spreads, on a 0..1 scale).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PLAIN_MEAN, PLAIN_STD = 0.5, 0.25
MAX_WIDTH = 256


def _torch_nn() -> Any:
    from torch import nn

    return nn


def _module_base() -> type:
    return _torch_nn().Module


class PixelNetwork(_module_base()):  # type: ignore[misc]
    """uint8 pixels in, one score per class out: scaling, normalisation and the body in one module."""

    def __init__(self, architecture: str, body: Any, channels: int, classes: int, size: int,
                 settings: dict[str, Any]) -> None:
        import torch

        super().__init__()
        self.architecture = architecture
        self.body = body
        self.channels = channels
        self.classes = classes
        self.size = size
        self.settings = dict(settings)
        pretrained = architecture in BACKBONES
        mean = IMAGENET_MEAN if pretrained else (PLAIN_MEAN,) * 3
        std = IMAGENET_STD if pretrained else (PLAIN_STD,) * 3
        # A grayscale picture goes to a pretrained network as three equal channels: the weights expect three.
        self.repeat = 3 if pretrained and channels == 1 else 1
        used = 3 if pretrained else channels
        self.register_buffer("mean", torch.tensor(mean[:used], dtype=torch.float32).view(1, used, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(std[:used], dtype=torch.float32).view(1, used, 1, 1) * 255.0)
        self.frozen = False

    def forward(self, pixels: Any) -> Any:
        x = pixels.float()
        if self.repeat > 1:
            x = x.repeat(1, self.repeat, 1, 1)
        return self.body((x - self.mean) / self.std)

    def work_per_picture(self) -> int:
        """Multiply-adds of one picture through the network, measured once with a blank picture."""
        cached = self.__dict__.get("_work")
        if cached is not None:
            return int(cached)
        import torch
        from torch import nn

        total = [0]

        def count(module: Any, _inputs: Any, output: Any) -> None:
            if isinstance(module, nn.Conv2d):
                per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
                total[0] += int(output.numel()) * per_output
            elif isinstance(module, nn.Linear):
                total[0] += module.in_features * module.out_features

        hooks = [m.register_forward_hook(count) for m in self.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        was_training = self.training
        try:
            self.eval()  # no batch statistics are touched
            device = next(self.parameters()).device
            with torch.no_grad():
                self(torch.zeros((1, self.channels, self.size, self.size), dtype=torch.uint8, device=device))
        finally:
            for hook in hooks:
                hook.remove()
            self.train(was_training)
        self.__dict__["_work"] = total[0]
        return total[0]

    def head(self) -> Any:
        """The last layer, the only part trained while the pretrained body is frozen."""
        if self.architecture == "resnet18":
            return self.body.fc
        if self.architecture == "mobilenet_v3_small":
            return self.body.classifier
        return self.body

    def freeze_body(self, frozen: bool) -> None:
        self.frozen = frozen
        head = {id(p) for p in self.head().parameters()}
        for parameter in self.body.parameters():
            parameter.requires_grad_(not frozen or id(parameter) in head)

    def train(self, mode: bool = True) -> PixelNetwork:
        super().train(mode)
        if mode and self.frozen:
            # A frozen body keeps the statistics it was pretrained with; only the head learns.
            self.body.eval()
            self.head().train()
        return self


def build_small_cnn(channels: int, classes: int, size: int, depth: int = 3, width: int = 32,
                    dropout: float = 0.2) -> PixelNetwork:
    """Blocks of 3×3 convolutions, each doubling the width and halving the picture while it is at least 4
    pixels across, then the average over the picture and one linear layer."""
    nn = _torch_nn()
    layers: list[Any] = []
    size_here, width_in = size, channels
    for block in range(int(depth)):
        width_out = min(MAX_WIDTH, int(width) * 2 ** block)
        layers += [nn.Conv2d(width_in, width_out, 3, padding=1, bias=False), nn.BatchNorm2d(width_out),
                   nn.ReLU(inplace=True)]
        if size_here >= 4:
            layers.append(nn.MaxPool2d(2))
            size_here //= 2
        width_in = width_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(float(dropout)), nn.Linear(width_in, classes)]
    settings = {"depth": int(depth), "width": int(width), "dropout": float(dropout)}
    return PixelNetwork(SMALL_CNN, nn.Sequential(*layers), channels, classes, size, settings)


def build_backbone(architecture: str, channels: int, classes: int, size: int, dropout: float = 0.2,
                   on_meta: bool = False) -> PixelNetwork:
    """A torchvision network with untrained weights and a last layer for ``classes``; the caller loads the
    pretrained weights (``load_pretrained``)."""
    import torch
    import torchvision

    nn = _torch_nn()
    if architecture not in BACKBONES:
        raise ValueError(f"Unknown pretrained network {architecture!r}; Studio knows {', '.join(BACKBONES)}.")
    with torch.device("meta") if on_meta else torch.device("cpu"):
        if architecture == "resnet18":
            body = torchvision.models.resnet18(weights=None)
            body.fc = nn.Sequential(nn.Dropout(float(dropout)), nn.Linear(body.fc.in_features, classes))
        else:
            body = torchvision.models.mobilenet_v3_small(weights=None, dropout=float(dropout))
            last = body.classifier[-1]
            body.classifier[-1] = nn.Linear(last.in_features, classes)
    return PixelNetwork(architecture, body, channels, classes, size, {"dropout": float(dropout)})


def load_pretrained(network: PixelNetwork, state: dict[str, Any]) -> None:
    """Put pretrained weights (torchvision's state dict for the whole network) into ``network``'s body, all but
    the last layer, which is new. Weights of another architecture are refused in words."""
    from studio.core.common.errors import StudioError

    own = network.body.state_dict()
    head_keys = {f"{name}" for name in _head_keys(network)}
    wanted = {k for k in own if k not in head_keys}
    given = set(state)
    missing = wanted - given
    if missing:
        raise StudioError(f"The weights file does not fit {network.architecture}: {len(missing)} of its layers are "
                          "missing. Choose the file made for this network.")
    for key in wanted:
        if tuple(state[key].shape) != tuple(own[key].shape):
            raise StudioError(f"The weights file does not fit {network.architecture}: layer {key} has another "
                              "shape. Choose the file made for this network.")
    network.body.load_state_dict({k: state[k] for k in wanted}, strict=False)


def _head_keys(network: PixelNetwork) -> list[str]:
    if network.architecture == "resnet18":
        prefix = "fc."
    elif network.architecture == "mobilenet_v3_small":
        prefix = f"classifier.{len(network.body.classifier) - 1}."
    else:
        return []
    return [k for k in network.body.state_dict() if k.startswith(prefix)]


def describe_image_network(network: PixelNetwork) -> dict[str, Any]:
    """The network as plain data: its architecture's name and sizes, and its weights as NumPy arrays."""
    if type(network) is not PixelNetwork or network.architecture not in ARCHITECTURES:
        raise TypeError(f"Only a network built by Studio can be described; got {type(network)!r}.")
    weights = {key: value.detach().cpu().numpy().copy() for key, value in network.state_dict().items()}
    return {"format": IMAGE_NETWORK_FORMAT, "architecture": network.architecture, "channels": int(network.channels),
            "classes": int(network.classes), "size": int(network.size),
            "settings": {k: v for k, v in network.settings.items()}, "weights": weights}


def rebuild_image_network(description: dict[str, Any]) -> PixelNetwork:
    """The network ``describe_image_network`` described, weights bit for bit, in eval mode on the CPU. Only
    Studio's own architectures are built, by name."""
    import torch

    if description.get("format") != IMAGE_NETWORK_FORMAT:
        raise ValueError(f"This image network was saved in format {description.get('format')!r}; this version of "
                         f"Studio reads format {IMAGE_NETWORK_FORMAT}. A newer Studio may open it.")
    architecture = str(description["architecture"])
    channels, classes, size = int(description["channels"]), int(description["classes"]), int(description["size"])
    settings = dict(description.get("settings") or {})
    if architecture == SMALL_CNN:
        network = build_small_cnn(channels, classes, size, int(settings.get("depth", 3)),
                                  int(settings.get("width", 32)), float(settings.get("dropout", 0.0)))
    elif architecture in BACKBONES:
        network = build_backbone(architecture, channels, classes, size, float(settings.get("dropout", 0.0)),
                                 on_meta=True)
    else:
        raise ValueError(f"Unknown network in a saved model: {architecture!r}.")
    weights = {str(key): torch.from_numpy(np.array(value, order="C", copy=True))
               for key, value in description["weights"].items()}
    network.load_state_dict(weights, strict=True, assign=True)
    return network.eval()
