"""The neural network as a ModelSpec: its settings in plain words, grouped as the Model step shows them.

Nothing here imports torch or scikit-learn; the builder and the device note import them when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.core.data.target import Task
from studio.core.models.params import ParamKind, ParamSpec, ParamValue, float_param, int_param
from studio.core.models.pipeline_onnx import pipeline_onnx_job
from studio.core.models.spec import Growth, ModelSpec, register

if TYPE_CHECKING:
    pass

ARCHITECTURE = "Architecture"
OPTIMIZER = "Optimizer"
REGULARISATION = "Regularisation"
STOPPING = "Stopping"
DEVICE = "Device and repeatability"


TORCH_MISSING = ("Neural networks need PyTorch, which is not installed. Add it with \"Add neural networks\" on the "
                 "Model page, or run: python -m studio.install_torch (it picks the build for this computer).")


def _device_note() -> str:
    if SPEC.missing_requirement():
        return "PyTorch is not installed, so no device can be looked up."
    from studio.core.models.torch.devices import hardware_note

    return hardware_note()


def _network(task: Task, p: dict[str, ParamValue]) -> Any:
    from studio.core.models.torch.estimators import NetworkClassifier, NetworkRegressor

    cls = NetworkClassifier if task is Task.CLASSIFICATION else NetworkRegressor
    return cls(hidden_layers=str(p["hidden_layers"]), activation=str(p["activation"]), init=str(p["init"]),
               dropout=float_param(p, "dropout"), optimizer=str(p["optimizer"]),
               learning_rate=float_param(p, "learning_rate"), batch_size=int_param(p, "batch_size"),
               epochs=int_param(p, "epochs"), weight_decay=float_param(p, "weight_decay"),
               l1=float_param(p, "l1"), early_stopping=bool(p["early_stopping"]),
               patience=int_param(p, "patience"), lr_schedule=str(p["lr_schedule"]),
               device=str(p["device"]), random_state=int_param(p, "seed"))


PARAMS = (
    ParamSpec("hidden_layers", "Hidden layers", "How many units each hidden layer has, first to last, separated "
              "by commas. More or wider layers can learn more complex patterns but need more rows and time.",
              ParamKind.INT_LIST, "64, 32", low=1, high=4096, group=ARCHITECTURE),
    ParamSpec("activation", "Activation", "The bend each unit applies to what it receives. The default, ReLU, "
              "keeps positive values and turns negative ones into zero: it learns quickly and suits most tables. "
              "The others bend more smoothly; try them only to experiment.",
              ParamKind.CHOICE, "relu", choices=(("relu", "ReLU (a good default)"), ("tanh", "tanh (smooth)"),
                                                 ("gelu", "GELU (a smooth ReLU)")), group=ARCHITECTURE,
              advanced=True),
    ParamSpec("init", "Starting weights", "How the weights are set before training begins. The default lets "
              "PyTorch pick a sensible starting point for each layer, which is usually fine. He and Xavier are "
              "named recipes: He suits ReLU, Xavier suits tanh.", ParamKind.CHOICE, "default",
              choices=(("default", "Default"), ("he", "He"), ("xavier", "Xavier")), group=ARCHITECTURE,
              advanced=True),
    ParamSpec("optimizer", "Optimizer", "The method that adjusts the weights after each batch of rows. The "
              "default, Adam, sets a suitable step for every weight by itself and works well without tuning; SGD "
              "needs a carefully chosen learning rate.",
              ParamKind.CHOICE, "adam", choices=(("adam", "Adam (a good default)"),
                                                 ("adamw", "AdamW (Adam with decoupled weight decay)"),
                                                 ("sgd", "SGD with momentum")), group=OPTIMIZER, advanced=True),
    ParamSpec("learning_rate", "Learning rate", "How big a step each adjustment takes. Too high and training "
              "jumps about or fails; too low and it crawls.", ParamKind.FLOAT, 1e-3, low=1e-6, high=1.0, log=True,
              group=OPTIMIZER),
    ParamSpec("batch_size", "Batch size", "How many rows the network looks at before each adjustment. The "
              "default, 64, balances speed and quality: larger batches make each pass over the rows faster, "
              "smaller ones adjust more often and often predict new rows better.", ParamKind.INT, 64, low=1,
              high=65_536, log=True, group=OPTIMIZER, search_range=(16, 256, True), advanced=True),
    ParamSpec("lr_schedule", "Learning-rate schedule", "Whether the learning rate changes during training. The "
              "default keeps it the same throughout, the simplest choice; lowering it later on can gain a little.",
              ParamKind.CHOICE, "none", choices=(("none", "Constant"), ("plateau", "Halve it when progress stalls"),
                                                 ("cosine", "Lower it gradually to zero (cosine)")),
              group=OPTIMIZER, advanced=True),
    ParamSpec("dropout", "Dropout", "Share of units switched off at random in each step; 0.1 to 0.5 helps "
              "against memorising the training rows.", ParamKind.FLOAT, 0.0, low=0.0, high=0.9,
              group=REGULARISATION, search_range=(0.0, 0.5, False)),
    ParamSpec("weight_decay", "L2 penalty (weight decay)", "Pulls all weights gently towards zero, for smoother "
              "models. The default, 0, adds no pull; try 0.0001 to 0.01 if the network memorises the training "
              "rows.", ParamKind.FLOAT, 0.0, low=0.0, high=1.0, group=REGULARISATION,
              search_range=(1e-6, 1e-2, True), advanced=True),
    ParamSpec("l1", "L1 penalty", "Pushes unhelpful weights to exactly zero. The default, 0, pushes none; try "
              "0.00001 to 0.001 to make the network ignore columns that do not help.",
              ParamKind.FLOAT, 0.0, low=0.0, high=1.0, group=REGULARISATION, tunable=False, advanced=True),
    ParamSpec("epochs", "Epochs", "The most passes over the training rows.", ParamKind.INT, 100, low=1,
              high=10_000, log=True, group=STOPPING),
    ParamSpec("early_stopping", "Stop early", "Stop when the validation loss stops improving, and keep the "
              "weights of the best epoch.", ParamKind.BOOL, True, group=STOPPING, tunable=False),
    ParamSpec("patience", "Patience", "How many epochs without improvement to wait before stopping early.",
              ParamKind.INT, 10, low=1, high=1000, group=STOPPING, tunable=False),
    ParamSpec("device", "Device", "Where the network trains. Automatic uses a graphics card when there is one; "
              "the saved model runs on any computer either way.", ParamKind.CHOICE, "auto",
              choices=(("auto", "Automatic (graphics card if found)"), ("cpu", "Processor (CPU)"),
                       ("cuda", "NVIDIA graphics card (CUDA)"), ("mps", "Apple graphics chip (MPS)")),
              group=DEVICE, live_note=_device_note, tunable=False),
    ParamSpec("seed", "Seed", "Starting point of the random numbers. The same seed on the CPU gives the same "
              "network every time.", ParamKind.INT, 0, low=0, high=2**31 - 1, group=DEVICE,
              tunable=False),
)

SPEC = register(ModelSpec(
    key="neural_network",
    label="Neural network",
    description="Layers of simple units that learn their own combinations of the columns (a multilayer "
    "perceptron, trained with PyTorch). Flexible and able to use a graphics card; needs more rows and care than a "
    "forest. Watch the curve: it shows when it starts to memorise the training rows.",
    tasks=(Task.CLASSIFICATION, Task.REGRESSION),
    params=PARAMS,
    build=_network,
    growth=Growth.EPOCHS,
    # A few passes tell whether a network suits the table; the automatic search adds epochs where more pay.
    cost_params=(("epochs", 10),),
    requires=(("torch", TORCH_MISSING),),
    onnx_export=pipeline_onnx_job,
    short_name="the network",
))
