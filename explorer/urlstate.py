"""Query parameters <-> RunConfig: parse, validate and clamp a shared link. Pure: no Streamlit.

Bad values never raise: they are ignored (or clamped to a cap) and a notice says so.
"""
from __future__ import annotations

from typing import Mapping

from explorer.config import FIELD_TABLE, FIELDS, PACES, Field, RunConfig, unused_fields

EXTRA_PARAMS = ("preset", "lecture", "page", "pace")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_NONE = ("", "none", "off")


def _parse(field: Field, text: str):
    """-> value of the field's type; raises ValueError on a malformed value."""
    kind = field.kind
    if field.optional and text.strip().lower() in _NONE:
        return None
    if kind is bool:
        low = text.strip().lower()
        if low not in _TRUE + _FALSE:
            raise ValueError("expected 1 or 0")
        return low in _TRUE
    if kind is int:
        return int(float(text)) if float(text).is_integer() else int("x")
    if kind is float:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        return value
    return text.strip().lower()


def config_from_params(params: Mapping[str, str], base: RunConfig | None = None) -> tuple[RunConfig, list[str]]:
    """Apply query parameters to `base`; -> (config, notices). Unknown or bad values are skipped."""
    config = base or RunConfig()
    notices, values = [], {}
    for name, text in params.items():
        if name in EXTRA_PARAMS:
            continue
        if name not in FIELDS:
            notices.append(f"Ignored unknown URL parameter '{name[:40]}'.")
            continue
        try:
            value = _parse(FIELD_TABLE[name], str(text))
        except (ValueError, OverflowError):
            notices.append(f"Ignored {name}={str(text)[:40]!r}: not a valid value.")
            continue
        if FIELD_TABLE[name].kind in (int, float) and value is not None:
            low, high = FIELD_TABLE[name].bounds()
            if not low <= value <= high:
                clamped = min(max(value, low), high)
                notices.append(f"{name}={str(text)[:40]} is outside {low:g}..{high:g}; using {clamped:g}.")
                value = clamped
        values[name] = value
    try:
        return config.replace(**_with_resets(values, values.get("arch", config.arch))), notices
    except ValueError:
        pass  # some combination is invalid: apply one at a time (the architecture first) and name the culprit
    for name in sorted(values, key=lambda n: n != "arch"):
        value = values[name]
        try:
            config = config.replace(**({"arch": value, **unused_fields(value)} if name == "arch" else {name: value}))
        except ValueError as error:
            notices.append(f"Ignored {name}={str(params[name])[:40]!r}: {error}.")
    return config, notices


def _with_resets(values: dict, arch: str) -> dict:
    """`values`, with the fields `arch` does not read back at their defaults unless the link sets them
    (a link to an LSTM from an SSM with state_size 8 drops the 8; state_size=8 beside arch=lstm is refused)."""
    return {**unused_fields(arch), **values} if "arch" in values else values


def params_from_config(config: RunConfig) -> dict[str, str]:
    """Only the fields that differ from the defaults, so links stay short."""
    defaults = RunConfig()
    out = {}
    for name in FIELDS:
        value = getattr(config, name)
        if value == getattr(defaults, name):
            continue
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif value is None:
            out[name] = "none"
        else:
            out[name] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


def _choice(params: Mapping[str, str], name: str, values: Mapping[str, object], default, allowed: str):
    """A link's non-RunConfig value -> (value, notices): `values` maps each accepted spelling to its value;
    absent gives `default`, anything else `default` and a notice."""
    text = params.get(name)
    if text is None:
        return default, []
    low = str(text).strip().lower()
    if low in values:
        return values[low], []
    return default, [f"Ignored {name}={str(text)[:40]!r}: not a valid value ({allowed})."]


def pace_from_params(params: Mapping[str, str]) -> tuple[str, list[str]]:
    """`pace=` of a link -> (pace, notices): one of config.PACES, "normal" when absent or bad."""
    return _choice(params, "pace", {p: p for p in PACES}, "normal", ", ".join(PACES))


def lecture_from_params(params: Mapping[str, str]) -> tuple[bool, list[str]]:
    """`lecture=` of a link -> (on, notices): 1/0 and their spellings; off, with a notice, when bad."""
    return _choice(params, "lecture", {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}, False, "1 or 0")
