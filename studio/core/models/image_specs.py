"""The models for pictures as ModelSpecs: a small convolutional network trained from scratch, a pretrained
network with a new last layer (transfer learning), and the pixel baseline. They take image data only.

Nothing here imports torch; the builders import it when first used.
"""

from __future__ import annotations

from typing import Any

from studio.core.data.kinds import DataKind
from studio.core.data.target import Task
from studio.core.models.network_specs import TORCH_MISSING, _device_note
from studio.core.models.params import ParamKind, ParamSpec, ParamValue, float_param, int_param
from studio.core.models.spec import Growth, ModelSpec, SearchPolicy, register

ARCHITECTURE = "Architecture"
TRAINING = "Training"
STOPPING = "Stopping"
DEVICE = "Device and repeatability"

TORCHVISION_MISSING = ("Pretrained networks need torchvision, which is not installed. Add it with \"Add neural "
                       "networks\" on the Model page, or run: python -m studio.install_torch.")


def _common(p: dict[str, ParamValue]) -> dict[str, Any]:
    return {"learning_rate": float_param(p, "learning_rate"), "epochs": int_param(p, "epochs"),
            "batch_size": int_param(p, "batch_size"), "early_stopping": bool(p["early_stopping"]),
            "patience": int_param(p, "patience"), "dropout": float_param(p, "dropout"), "device": str(p["device"]),
            "random_state": int_param(p, "seed")}


def _cnn(task: Task, p: dict[str, ParamValue]) -> Any:
    from studio.core.models.torch.image_estimator import ImageClassifier

    return ImageClassifier(architecture="small_cnn", depth=int_param(p, "depth"), width=int_param(p, "width"),
                           **_common(p))


def _transfer(task: Task, p: dict[str, ParamValue]) -> Any:
    from studio.core.models.torch.image_estimator import ImageClassifier

    return ImageClassifier(architecture=str(p["backbone"]), fine_tune=bool(p["fine_tune"]),
                           fine_tune_epochs=int_param(p, "fine_tune_epochs"), weights_file=str(p["weights_file"]),
                           **_common(p))


def _pixels(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from studio.core.models.pixels import PixelShrinker

    return Pipeline([("shrink", PixelShrinker(int_param(p, "pixels"))), ("scale", StandardScaler()),
                     ("logistic", LogisticRegression(C=float_param(p, "C"), max_iter=1000))])


def _onnx_job(pipeline: Any, path: Any, should_stop: Any, check_rows: Any = None) -> Any:
    from studio.core.models.torch.image_export import image_onnx_job

    return image_onnx_job(pipeline, path, should_stop, check_rows=check_rows)


def _shared(epochs: int, learning_rate: float, patience: int) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("dropout", "Dropout", "Share of the last layer's inputs switched off at random in each step; "
                  "helps against memorising the training pictures.", ParamKind.FLOAT, 0.2, low=0.0, high=0.9,
                  group=ARCHITECTURE, search_range=(0.0, 0.5, False)),
        ParamSpec("learning_rate", "Learning rate", "How big a step each adjustment takes. Too high and training "
                  "jumps about or fails; too low and it crawls.", ParamKind.FLOAT, learning_rate, low=1e-6,
                  high=1.0, log=True, group=TRAINING, search_range=(1e-4, 1e-2, True)),
        ParamSpec("batch_size", "Batch size", "How many pictures the network looks at before each adjustment. "
                  "The default, 32, suits most computers and graphics cards; lower it if the graphics card runs "
                  "out of memory.", ParamKind.INT, 32, low=1, high=4096, log=True, group=TRAINING, tunable=False,
                  advanced=True),
        ParamSpec("epochs", "Epochs", "The most passes over the training pictures.", ParamKind.INT, epochs, low=1,
                  high=1000, log=True, group=STOPPING, tunable=False),
        ParamSpec("early_stopping", "Stop early", "Stop when the validation loss stops improving, and keep the "
                  "weights of the best epoch.", ParamKind.BOOL, True, group=STOPPING, tunable=False),
        ParamSpec("patience", "Patience", "How many epochs without improvement to wait before stopping early.",
                  ParamKind.INT, patience, low=1, high=1000, group=STOPPING, tunable=False),
        ParamSpec("device", "Device", "Where the network trains. Automatic uses a graphics card when there is "
                  "one; the saved model runs on any computer either way.", ParamKind.CHOICE, "auto",
                  choices=(("auto", "Automatic (graphics card if found)"), ("cpu", "Processor (CPU)"),
                           ("cuda", "NVIDIA graphics card (CUDA)"), ("mps", "Apple graphics chip (MPS)")),
                  group=DEVICE, live_note=_device_note, tunable=False),
        ParamSpec("seed", "Seed", "Starting point of the random numbers. The same seed on the CPU gives the same "
                  "network every time.", ParamKind.INT, 0, low=0, high=2**31 - 1, group=DEVICE, tunable=False),
    )


CNN = register(ModelSpec(
    key="image_cnn",
    label="Small picture network",
    description="A small convolutional network trained from scratch on your pictures. It needs no download and "
    "suits simple pictures (shapes, scans, icons) or many pictures per class; with few photos, a pretrained "
    "network usually does better.",
    tasks=(Task.CLASSIFICATION,),
    params=(
        ParamSpec("depth", "Depth", "How many blocks of filters the network stacks; each sees larger shapes.",
                  ParamKind.INT, 3, low=1, high=6, group=ARCHITECTURE, search_range=(2, 4, False)),
        ParamSpec("width", "Width", "How many filters the first block has (each later block doubles it). Wider "
                  "learns more but is slower.", ParamKind.INT, 32, low=4, high=128, log=True, group=ARCHITECTURE,
                  search_range=(16, 64, True)),
        *_shared(epochs=40, learning_rate=2e-3, patience=6),
    ),
    build=_cnn,
    input_kinds=(DataKind.IMAGES,),
    growth=Growth.EPOCHS,
    importances=False,
    no_importances_note="A picture model has no columns to rank.",
    requires=(("torch", TORCH_MISSING),),
    short_name="the network",
    onnx_export=_onnx_job,
    search=SearchPolicy(rank=2),
    overfit_tip="Turn on more augmentation in the Prepare step, raise the dropout, or add pictures.",
    underfit_tip="Make the network deeper or wider, train for more epochs, or use a larger picture size.",
))

TRANSFER = register(ModelSpec(
    key="image_transfer",
    label="Pretrained picture network",
    description="A network already trained on a million photos (MobileNetV3 or ResNet-18) learns only its last "
    "layer for your classes, so 50 photos per class can be enough. Its weights download once (10 to 45 MB).",
    tasks=(Task.CLASSIFICATION,),
    params=(
        ParamSpec("backbone", "Pretrained network", "Which network to start from. MobileNetV3-small is fast; "
                  "ResNet-18 is larger and often a little more accurate.", ParamKind.CHOICE, "mobilenet_v3_small",
                  choices=(("mobilenet_v3_small", "MobileNetV3-small (fast, 10 MB)"),
                           ("resnet18", "ResNet-18 (larger, 45 MB)")), group=ARCHITECTURE, tunable=False),
        ParamSpec("fine_tune", "Fine-tune the whole network", "After the last layer has learned, train the whole "
                  "network a little at a low learning rate. Often better with hundreds of pictures per class; "
                  "slower.", ParamKind.BOOL, False, group=ARCHITECTURE, tunable=False),
        ParamSpec("fine_tune_epochs", "Fine-tuning epochs", "How many more epochs fine-tuning may take.",
                  ParamKind.INT, 8, low=1, high=200, group=ARCHITECTURE, tunable=False),
        ParamSpec("weights_file", "Weights file", "A weights file you already have for this network (.pth). Leave "
                  "empty to download the published weights once.", ParamKind.TEXT, "", group=ARCHITECTURE,
                  tunable=False, file_filter="Weights files (*.pth *.pt)"),
        *_shared(epochs=20, learning_rate=1e-3, patience=4),
    ),
    build=_transfer,
    input_kinds=(DataKind.IMAGES,),
    growth=Growth.EPOCHS,
    importances=False,
    no_importances_note="A picture model has no columns to rank.",
    requires=(("torch", TORCH_MISSING), ("torchvision", TORCHVISION_MISSING)),
    short_name="the network",
    onnx_export=_onnx_job,
    pretrained=True,
    search=SearchPolicy(rank=1),
    overfit_tip="Turn on more augmentation in the Prepare step or raise the dropout.",
    underfit_tip="Turn on fine-tuning, or train for more epochs.",
))

PIXELS = register(ModelSpec(
    key="image_pixels",
    label="Pixel baseline",
    description="Each picture shrunk to a few pixels and fed to a logistic regression. Quick and plain: the "
    "score every picture network should beat.",
    tasks=(Task.CLASSIFICATION,),
    params=(
        ParamSpec("pixels", "Shrunk to", "The size, in pixels across, each picture is shrunk to.", ParamKind.INT,
                  16, low=4, high=64, group=ARCHITECTURE, search_range=(8, 32, False)),
        ParamSpec("C", "Flexibility", "Higher lets the model follow the training pictures more closely.",
                  ParamKind.FLOAT, 0.1, low=1e-4, high=100.0, log=True, group=ARCHITECTURE),
    ),
    build=_pixels,
    input_kinds=(DataKind.IMAGES,),
    importances=False,
    no_importances_note="A picture model has no columns to rank.",
    short_name="the baseline",
    search=SearchPolicy(rank=0, quick=True),
))
