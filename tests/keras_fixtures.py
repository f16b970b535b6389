"""The real Keras files of tests/data/keras (see its MANIFEST.md), described once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "keras"


@dataclass(frozen=True)
class Fixture:
    id: str
    source: str
    io: str  # stem of <io>.input.npy / <io>.output.npy
    arch: str | None  # --arch for weights-only files
    family: str  # seed, mlp or cnn: the Keras 3 archive with the same architecture
    generation: str
    source_format: str

    @property
    def path(self) -> Path:
        return DATA / self.source

    @property
    def arch_path(self) -> Path | None:
        return DATA / self.arch if self.arch else None


FIXTURES = [
    Fixture("seed_k3.keras", "seed_k3.keras", "seed_k3", None, "seed", "keras3", "keras3-archive"),
    Fixture("seed_k3.weights.h5+arch", "seed_k3.weights.h5", "seed_k3", "seed_k3.keras", "seed", "keras3", "keras3-weights"),
    Fixture("seed_tfk.h5", "seed_tfk.h5", "seed_tfk", None, "seed", "keras2", "keras2-h5"),
    Fixture("model54321", "model54321_weights.h5", "model54321", "model54321_architecture.json", "seed", "keras2", "keras2-weights-h5"),
    Fixture("keras1_model54321", "keras1_model54321_weights.h5", "keras1_model54321", "keras1_model54321_architecture.json", "seed", "keras1", "keras1-weights-h5"),
    Fixture("seed_keras1.h5", "seed_keras1.h5", "seed_keras1", None, "seed", "keras1", "keras1-h5"),
    Fixture("seed_keras216.h5", "seed_keras216.h5", "seed_keras216", None, "seed", "keras2", "keras2-h5"),
    Fixture("mlp_k3.keras", "mlp_k3.keras", "mlp_k3", None, "mlp", "keras3", "keras3-archive"),
    Fixture("mlp_tfk.h5", "mlp_tfk.h5", "mlp_tfk", None, "mlp", "keras2", "keras2-h5"),
    Fixture("cnn_k3.keras", "cnn_k3.keras", "cnn_k3", None, "cnn", "keras3", "keras3-archive"),
    Fixture("cnn_tfk.h5", "cnn_tfk.h5", "cnn_tfk", None, "cnn", "keras2", "keras2-h5"),
]
