"""StarGAN v1 configuration: one dataclass and named presets.

``celeba-paper`` is the official setting (``main.py`` defaults: 128 px, the 5 CelebA attributes,
batch 16, 200k iterations). ``toy-v1`` trains on the embedded toyfaces attributes in a few
minutes on a CPU; ``toy-v1-joint`` adds toyfaces expressions as a second dataset (mask vector).
"""
import dataclasses
from dataclasses import dataclass

from ..runtime.precision import check_precision

TOYFACES = "toyfaces"  # image_root value: the embedded dataset, generated on first use
CHECKPOINT_KIND = "stargan-v1"  # the "kind" entry of the checkpoints a V1Config run writes
# config fields that define the networks' shapes: a checkpoint only loads if they match
ARCHITECTURE_FIELDS = ("image_size", "c_dim", "g_conv_dim", "d_conv_dim", "g_repeat_num",
                       "d_repeat_num", "selected_attrs", "selected_attrs2")


@dataclass
class V1Config:
    # data. image_root "toyfaces": the generated dataset, and attr files are names inside it
    image_root: str = "data/celeba/images"
    attr_file: str = "data/celeba/list_attr_celeba.txt"
    selected_attrs: tuple[str, ...] = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    # two-dataset mode (mask vector): a second attribute file over the same image_root whose
    # selected columns are one class each (e.g. expressions); None: one dataset
    attr_file2: str | None = None
    selected_attrs2: tuple[str, ...] = ()
    crop_size: int | None = 178  # CenterCrop before resizing (None: no crop)
    image_size: int = 128
    test_count: int = 2000  # images held out for testing and samples
    split_seed: int = 1234  # seed of the test split (the official value)
    c_dim: int | None = None  # G's label size; None: computed from the selected attributes
    # architecture
    g_conv_dim: int = 64
    d_conv_dim: int = 64
    g_repeat_num: int = 6  # residual blocks of G
    d_repeat_num: int = 6  # stride-2 convs of D
    # loss weights (paper eq. 5, 6)
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    # optimisation
    n_critic: int = 5  # one G update per n_critic D updates
    batch_size: int = 16
    num_iters: int = 200_000  # D iterations
    num_iters_decay: int = 100_000  # the LR decays linearly to 0 over these last iterations
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    precision: str = "fp32"  # "bf16": bfloat16 autocast for the forward passes (CPU and CUDA)
    seed: int = 0
    # periods (iterations) and bookkeeping
    log_every: int = 10
    sample_every: int = 1_000
    eval_every: int = 10_000  # toyfaces: oracle and ground-truth metrics into metrics.csv
    save_every: int = 10_000
    keep: int = 3  # checkpoints kept

    def __post_init__(self):
        self.selected_attrs = tuple(self.selected_attrs)
        self.selected_attrs2 = tuple(self.selected_attrs2)
        if self.c_dim is None:
            self.c_dim = self.expected_c_dim()
        self.validate()

    @property
    def joint(self) -> bool:
        """Two datasets with a mask vector."""
        return self.attr_file2 is not None

    @property
    def cls_dim(self) -> int:
        """D's classification outputs: one per label of both datasets (no mask)."""
        return len(self.selected_attrs) + len(self.selected_attrs2)

    def expected_c_dim(self) -> int:
        return self.cls_dim + (2 if self.joint else 0)

    def validate(self) -> None:
        """Raise ValueError naming the field for settings that cannot work."""
        size = self.image_size
        if size < 4 or size & (size - 1):
            raise ValueError(f"image_size must be a power of two >= 4, got {size}")
        if size < 2 ** self.d_repeat_num:
            raise ValueError(f"image_size={size} is too small for d_repeat_num="
                             f"{self.d_repeat_num}: D halves it {self.d_repeat_num} times, so it "
                             f"must be >= {2 ** self.d_repeat_num}")
        check_precision(self.precision)
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (targets are a shuffle of the batch's "
                             f"labels), got {self.batch_size}")
        if not self.selected_attrs or len(set(self.selected_attrs)) != len(self.selected_attrs):
            raise ValueError(f"selected_attrs must be distinct attribute names, got "
                             f"{list(self.selected_attrs)}")
        if self.joint != bool(self.selected_attrs2):
            raise ValueError("attr_file2 and selected_attrs2 go together (two-dataset mode): "
                             f"got attr_file2={self.attr_file2!r}, "
                             f"selected_attrs2={list(self.selected_attrs2)}")
        if self.joint and len(set(self.selected_attrs2)) != len(self.selected_attrs2):
            raise ValueError(f"selected_attrs2 must be distinct, got {list(self.selected_attrs2)}")
        if self.c_dim != self.expected_c_dim():
            raise ValueError(f"c_dim={self.c_dim} does not match the selected attributes, which "
                             f"need {self.expected_c_dim()}")
        if self.crop_size is not None and self.crop_size < 1:
            raise ValueError(f"crop_size must be >= 1 or None, got {self.crop_size}")
        for name in ("test_count", "g_conv_dim", "d_conv_dim", "g_repeat_num", "d_repeat_num",
                     "n_critic", "num_iters", "log_every", "sample_every", "eval_every", "save_every",
                     "keep"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.num_iters_decay <= self.num_iters:
            raise ValueError(f"num_iters_decay must be between 0 and num_iters={self.num_iters}, "
                             f"got {self.num_iters_decay}")
        for name in ("g_lr", "d_lr"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    def replace(self, **changes) -> "V1Config":
        """A copy with ``changes``; c_dim is recomputed unless given."""
        return dataclasses.replace(self, **{"c_dim": None, **changes})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# toyfaces on a CPU: 32 px, narrow nets, 3 residual blocks. Deviations from the paper, so that G
# gets enough updates in a few minutes: n_critic 2 (not 5) and learning rates 2e-4 (not 1e-4).
TOY = dict(
    image_root=TOYFACES, attr_file="list_attr_toyfaces.txt",
    selected_attrs=("Black_Fur", "Ginger_Fur", "Grey_Fur", "Glasses", "Smiling"),
    crop_size=None, image_size=32, test_count=200, g_conv_dim=16, d_conv_dim=32, g_repeat_num=3,
    d_repeat_num=4, n_critic=2, num_iters=3_000, num_iters_decay=1_500, g_lr=2e-4, d_lr=2e-4,
    log_every=10, sample_every=500, eval_every=500, save_every=500)

PRESETS: dict[str, V1Config] = {
    "celeba-paper": V1Config(),
    "toy-v1": V1Config(**TOY),
    "toy-v1-joint": V1Config(**TOY, attr_file2="list_expr_toyfaces.txt",
                             selected_attrs2=("Neutral", "Happy", "Surprised", "Angry")),
}


def preset(name: str, **overrides) -> V1Config:
    """A copy of the named preset with ``overrides`` applied (ValueError for an unknown name)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name].replace(**overrides)
