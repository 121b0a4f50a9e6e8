"""Land-cover classes, their temporal coherence, and the exact realisation of a speckle stack.

This is the statistical half of :mod:`pairscope.sim.simulate`: what a radar pixel of a given surface
type looks like over a series of acquisitions, with no geometry involved.

The model (one land-cover class, one polarization)
--------------------------------------------------
A resolution cell holds many independent scatterers, so its complex reflectivity on date ``k`` is a
*circular complex Gaussian* random variable ``z_k`` (central limit theorem): real and imaginary parts
independent, zero mean, equal variance. This is fully developed speckle. Over ``N`` dates the vector
``z = (z_1 .. z_N)`` is described by its covariance matrix ``C`` with ``C_kk = 1`` (unit power; the
class backscatter multiplies it later) and ``C_jk = g(|t_j - t_k|)``, the *true coherence* between
the two dates.

Temporal decorrelation follows the exponential model (Rocca 2007; Parizzi et al. 2009)::

    g(dt) = g_inf + (g0 - g_inf) * exp(-dt / tau)      for dt > 0,      g(0) = 1

* ``g0``: coherence at a vanishing time interval. Below 1 because of decorrelation that does not
  depend on time: thermal noise (``1 / (1 + 1/SNR)``), volume scattering in a canopy, processing.
* ``g_inf``: the coherence that never goes away (stable scatterers: buildings, rock).
* ``tau`` (days): how fast the changing part decorrelates (ploughing, growth, wind in leaves).

The matrix ``C = g_inf * 1 1^T + (g0 - g_inf) * E + (1 - g0) * I`` with ``E_jk = exp(-|t_j - t_k| /
tau)`` is a sum of positive semi-definite matrices (``E`` is the covariance of an Ornstein-Uhlenbeck
process), so it is a valid covariance whenever ``0 <= g_inf <= g0 <= 1``.

Realisation: with ``C = L L^H`` (Cholesky) and ``w`` a vector of independent unit circular Gaussians,
``z = L w`` has exactly the covariance ``C``. Every pixel gets its own ``w``: pixels are independent
(real SLCs are slightly oversampled, so neighbouring samples are a little correlated; we leave that
out so that the number of looks of a window is exactly its number of samples).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from pairscope._types import FloatArray

__all__ = [
    "TemporalCoherence",
    "LandCover",
    "DEFAULT_LAND_COVER",
    "land_cover_by_name",
    "coherence_matrix",
    "cholesky_factor",
    "realise_speckle",
]



@dataclasses.dataclass(frozen=True)
class TemporalCoherence:
    """Exponential temporal decorrelation ``g(dt) = g_inf + (g0 - g_inf) exp(-dt / tau)``.

    ``g0`` and ``g_inf`` are coherences in [0, 1] with ``g_inf <= g0``; ``tau`` is in days (> 0).
    """

    g0: float
    g_inf: float
    tau: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.g_inf <= self.g0 <= 1.0:
            raise ValueError(
                f"need 0 <= g_inf <= g0 <= 1 for a valid coherence model; got g0={self.g0}, "
                f"g_inf={self.g_inf}"
            )
        if not self.tau > 0.0:
            raise ValueError(f"tau (days) must be positive; got {self.tau}")

    def __call__(self, dt_days: npt.ArrayLike) -> FloatArray:
        """True coherence for temporal baselines ``dt_days`` (days; 1.0 where dt == 0)."""
        dt = np.abs(np.asarray(dt_days, dtype=np.float64))
        g = self.g_inf + (self.g0 - self.g_inf) * np.exp(-dt / self.tau)
        return cast(FloatArray, np.where(dt == 0.0, 1.0, g))

    def as_dict(self) -> dict[str, float]:
        return {"g0": self.g0, "g_inf": self.g_inf, "tau_days": self.tau}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemporalCoherence:
        """Inverse of :meth:`as_dict`."""
        return cls(float(data["g0"]), float(data["g_inf"]), float(data["tau_days"]))


@dataclasses.dataclass(frozen=True)
class LandCover:
    """One land-cover class: its code in the class map, coherence models and backscatter.

    ``sigma0_db`` is the mean backscatter coefficient per polarization in dB (the mean power of the
    pixel, ``E|s|^2 = 10^(sigma0_db / 10)``); ``coherence`` the temporal model per polarization.
    Cross-polarised (VH) returns come from volume and multiple scattering, so they are weaker and,
    for vegetation, less coherent than VV.
    """

    code: int
    name: str
    description: str
    coherence: dict[str, TemporalCoherence]
    sigma0_db: dict[str, float]

    def model(self, polarization: str) -> TemporalCoherence:
        try:
            return self.coherence[polarization.upper()]
        except KeyError:
            raise ValueError(
                f"land cover {self.name!r} has no coherence model for polarization "
                f"{polarization!r}; known: {sorted(self.coherence)}"
            ) from None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "coherence": {p: m.as_dict() for p, m in sorted(self.coherence.items())},
            "sigma0_db": dict(sorted(self.sigma0_db.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LandCover:
        """Inverse of :meth:`as_dict` (e.g. the classes listed in a demo's ``truth.json``)."""
        return cls(
            int(data["code"]),
            str(data["name"]),
            str(data.get("description", "")),
            {p.upper(): TemporalCoherence.from_dict(m) for p, m in data["coherence"].items()},
            {p.upper(): float(v) for p, v in data["sigma0_db"].items()},
        )


#: The classes of the demo scene (C band, values typical of the literature for 6-48 day pairs).
DEFAULT_LAND_COVER: tuple[LandCover, ...] = (
    LandCover(
        0,
        "water",
        "open water: specular, dark, the surface changes between acquisitions (coherence ~0)",
        {"VV": TemporalCoherence(0.05, 0.0, 0.5), "VH": TemporalCoherence(0.03, 0.0, 0.5)},
        {"VV": -21.0, "VH": -28.0},
    ),
    LandCover(
        1,
        "urban",
        "buildings and roads: bright, stable double-bounce scatterers",
        {"VV": TemporalCoherence(0.93, 0.85, 60.0), "VH": TemporalCoherence(0.80, 0.65, 60.0)},
        {"VV": 2.0, "VH": -9.0},
    ),
    LandCover(
        2,
        "fields",
        "agricultural fields and meadows: coherent for days, decorrelating with growth and work",
        {"VV": TemporalCoherence(0.85, 0.10, 12.0), "VH": TemporalCoherence(0.65, 0.05, 8.0)},
        {"VV": -10.0, "VH": -17.0},
    ),
    LandCover(
        3,
        "forest",
        "forest: volume scattering in the canopy, low coherence at C band even after a few days",
        {"VV": TemporalCoherence(0.45, 0.05, 6.0), "VH": TemporalCoherence(0.35, 0.03, 6.0)},
        {"VV": -7.5, "VH": -13.0},
    ),
    LandCover(
        4,
        "rock",
        "bare rock and sparse alpine grass above the tree line: fairly stable",
        {"VV": TemporalCoherence(0.85, 0.55, 30.0), "VH": TemporalCoherence(0.70, 0.40, 30.0)},
        {"VV": -11.0, "VH": -19.0},
    ),
)


def land_cover_by_name(name: str, classes: Sequence[LandCover] = DEFAULT_LAND_COVER) -> LandCover:
    """The class called ``name`` (case-insensitive)."""
    for lc in classes:
        if lc.name == name.lower():
            return lc
    raise ValueError(f"unknown land cover {name!r}; known: {[lc.name for lc in classes]}")


def _days(dates: npt.ArrayLike) -> FloatArray:
    d = np.asarray(dates)
    if np.issubdtype(d.dtype, np.datetime64):
        seconds = (d - d.min()).astype("timedelta64[s]").astype(np.float64)
        return cast(FloatArray, seconds / 86400.0)
    return cast(FloatArray, d.astype(np.float64))


def coherence_matrix(model: TemporalCoherence, dates: npt.ArrayLike) -> FloatArray:
    """The (N, N) true coherence matrix ``C_jk = g(|t_j - t_k|)`` of one class over ``dates``.

    ``dates`` are ``datetime64`` values or times in days.
    """
    t = _days(dates)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"dates must be a non-empty 1-D sequence; got shape {t.shape}")
    return model(t[:, None] - t[None, :])


def cholesky_factor(matrix: npt.ArrayLike) -> FloatArray:
    """Lower-triangular ``L`` with ``L @ L.T == matrix`` (symmetric positive semi-definite).

    A singular matrix (e.g. ``g0 = g_inf = 1``, a perfectly stable target) has no strict Cholesky
    factor; it is then factored through its eigen-decomposition followed by a QR step, which gives
    a lower-triangular factor of the same matrix.
    """
    c = np.asarray(matrix, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not np.allclose(c, c.T):
        raise ValueError(f"a coherence matrix must be square and symmetric; got shape {c.shape}")
    try:
        return cast(FloatArray, np.linalg.cholesky(c))
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        if w.min() < -1e-9 * max(1.0, float(w.max())):
            raise ValueError(
                f"coherence matrix is not positive semi-definite (eigenvalue {w.min():.3g})"
            ) from None
        root = v * np.sqrt(np.clip(w, 0.0, None))  # root @ root.T == c
        # root = L Q for an orthogonal Q: the QR decomposition of root.T gives root.T = Q R
        # and so c = R.T R; R.T is lower triangular.
        r = cast(FloatArray, np.linalg.qr(root.T, mode="r"))
        lower = r.T
        signs = np.where(np.diag(lower) < 0, -1.0, 1.0)
        return lower * signs[None, :]


def realise_speckle(
    class_map: npt.ArrayLike,
    dates: npt.ArrayLike,
    polarization: str = "VV",
    *,
    classes: Sequence[LandCover] = DEFAULT_LAND_COVER,
    seed: int | Sequence[int] = 0,
) -> npt.NDArray[np.complex64]:
    """Unit-power circular complex Gaussian stack with the classes' coherence matrices.

    Returns a ``(N_dates,) + class_map.shape`` complex64 array ``z`` with ``E|z_k|^2 = 1`` and
    ``E[z_j conj(z_k)] = g_class(|t_j - t_k|)`` at every pixel (real-valued: no phase; the
    deterministic phase terms are added by the caller). Pixels are independent. Deterministic from
    ``seed``: each class draws from its own stream (``SeedSequence([*seed, code])``), so a pixel's
    value depends only on the seed, its class and its position among that class's pixels.

    A class code in ``class_map`` that is not in ``classes`` is an error.
    """
    cmap = np.asarray(class_map)
    if not np.issubdtype(cmap.dtype, np.integer):
        raise ValueError(f"class_map must hold integer class codes; got dtype {cmap.dtype}")
    known = {lc.code: lc for lc in classes}
    unknown = sorted(set(np.unique(cmap).tolist()) - set(known))
    if unknown:
        raise ValueError(
            f"class_map holds codes {unknown} with no land-cover definition; known codes: "
            f"{sorted(known)}"
        )
    t = _days(dates)
    n = t.size
    base = [int(seed)] if isinstance(seed, int | np.integer) else [int(s) for s in seed]
    out = np.zeros((n,) + cmap.shape, dtype=np.complex64)
    flat_map = cmap.ravel()
    flat_out = out.reshape(n, -1)
    for code in sorted(known):
        idx = np.flatnonzero(flat_map == code)
        if idx.size == 0:
            continue
        lower = cholesky_factor(coherence_matrix(known[code].model(polarization), t))
        rng = np.random.default_rng(np.random.SeedSequence([*base, code]))
        # (real, imaginary) pairs of N(0, 1/2) viewed as unit-power complex64 samples
        w = rng.standard_normal((n, idx.size, 2), dtype=np.float32).view(np.complex64)[..., 0]
        scaled = (lower * np.sqrt(0.5)).astype(np.complex64)
        flat_out[:, idx] = scaled @ w
    return out


# ----------------------------------------------------------------------------------------------
# random fields and the synthetic landscape
def gaussian_random_field(
    shape: tuple[int, int], spacing: float, correlation_length: float, rng: np.random.Generator
) -> FloatArray:
    """Zero-mean, unit-std smooth random field: white noise low-passed by a Gaussian kernel.

    ``spacing`` and ``correlation_length`` in metres (the kernel's standard deviation). Made with
    FFTs on the periodic grid; callers pad the grid so that the wrap-around does not matter.
    """
    ky = np.fft.fftfreq(shape[0], d=spacing)[:, None]
    kx = np.fft.rfftfreq(shape[1], d=spacing)[None, :]
    k2 = kx**2 + ky**2
    kernel = np.exp(-2.0 * np.pi**2 * correlation_length**2 * k2)
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal(shape)) * kernel, s=shape)
    field -= field.mean()
    return field / max(float(field.std()), 1e-300)


def power_law_field(
    shape: tuple[int, int],
    spacing: float,
    rng: np.random.Generator,
    *,
    exponent: float = 8.0 / 3.0,
    outer_scale: float = 50_000.0,
) -> FloatArray:
    """Zero-mean, unit-std random field with a power-law spectrum ``P(k) ~ k^-exponent``.

    This is the classic model of the turbulent part of the atmospheric delay (Hanssen 2001: the
    2-D spectrum of the wet delay falls as ``k^-8/3`` between a few hundred metres and a few tens
    of kilometres). ``outer_scale`` (m) flattens the spectrum at wavelengths longer than it, so
    the field stays finite; a fractal field has most of its variance at the largest scales.
    """
    ky = np.fft.fftfreq(shape[0], d=spacing)[:, None]
    kx = np.fft.rfftfreq(shape[1], d=spacing)[None, :]
    k2 = kx**2 + ky**2 + (1.0 / outer_scale) ** 2
    amplitude = k2 ** (-exponent / 4.0)  # sqrt of P(k) = k^-exponent
    amplitude[0, 0] = 0.0
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal(shape)) * amplitude, s=shape)
    field -= field.mean()
    return field / max(float(field.std()), 1e-300)


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclasses.dataclass(frozen=True)
class Landscape:
    """An alpine valley laid out along the satellite track, in scene-normalised coordinates.

    ``u`` is the across-track ground coordinate divided by the scene's across-track width
    (-0.5 .. 0.5, growing away from the satellite) and ``v`` the along-track one divided by the
    scene's length (-0.5 .. 0.5, growing with azimuth time), so every scene size holds every class.
    A valley floor (fields, a river, a lake, a town) runs along the track, forested slopes rise on
    both sides to bare rock above the tree line. ``relief`` (m) is the floor-to-ridge height,
    ``floor_height`` the ellipsoidal height of the valley floor (and of the lake's surface).
    ``noise_*`` are unit-std smooth noise values at the points, which make the borders irregular.
    """

    relief: float
    floor_height: float = 250.0
    valley_phase: float = 0.0

    def valley_axis(self, v: FloatArray) -> FloatArray:
        return -0.08 + 0.06 * np.sin(2.0 * np.pi * (0.6 * v + self.valley_phase))

    def relative_height(self, u: FloatArray, v: FloatArray) -> FloatArray:
        """0 on the valley floor, 1 on the ridges (before noise)."""
        x = u - self.valley_axis(v)
        floor = 0.13
        side = np.where(x > 0, 1.0, 0.8)  # the far (east) ridge is higher
        return side * _smoothstep((np.abs(x) - floor) / (0.47 - floor))

    def lake(self, u: FloatArray, v: FloatArray, noise: FloatArray) -> npt.NDArray[np.bool_]:
        du = (u - self.valley_axis(v) + 0.01) / 0.075
        dv = (v - 0.25) / 0.1
        return du * du + dv * dv < 1.0 + 0.25 * noise

    def height(
        self, u: FloatArray, v: FloatArray, hills_noise: FloatArray, lake_noise: FloatArray
    ) -> FloatArray:
        """Terrain height (m): valley profile, gentle hills, a flat lake surface.

        ``hills_noise`` roughens the slopes; ``lake_noise`` must be the ``noise_b`` given to
        :meth:`classes` so that the flat lake surface and the water class coincide.
        """
        rel = self.relative_height(u, v)
        tilt = self.relief * 0.04 * (v + 0.5)  # the valley floor rises gently along the track
        hills = 0.06 * hills_noise * (0.3 + rel)  # rougher higher up
        h = self.floor_height + tilt + self.relief * np.maximum(rel + hills, 0.0)
        lake_level = self.floor_height + self.relief * 0.04 * 0.75
        return np.where(self.lake(u, v, lake_noise), lake_level, h)

    def classes(
        self,
        u: FloatArray,
        v: FloatArray,
        width_m: float,
        noise_a: FloatArray,
        noise_b: FloatArray,
        classes: Sequence[LandCover] = DEFAULT_LAND_COVER,
    ) -> npt.NDArray[np.int8]:
        """Class codes: water (river, lake), urban (a town), fields, forest, rock."""
        code = {lc.name: lc.code for lc in classes}
        rel = self.relative_height(u, v)
        out = np.full(u.shape, code["rock"], dtype=np.int8)
        out[rel < 0.68 + 0.10 * noise_a] = code["forest"]
        out[rel < 0.12 + 0.06 * noise_b] = code["fields"]
        x = u - self.valley_axis(v)
        town = ((x - 0.07) / 0.07) ** 2 + ((v + 0.15) / 0.12) ** 2 < 1.0 + 0.3 * noise_a
        out[town] = code["urban"]
        river_half_width = max(20.0, 0.006 * width_m) / width_m
        river = np.abs(x + 0.015 * np.sin(2.0 * np.pi * 2.5 * v)) < river_half_width
        out[river | self.lake(u, v, noise_b)] = code["water"]
        return out
