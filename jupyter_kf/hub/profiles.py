"""Profiles: what a user may choose in the options form, checked again on the server.

A profile list is configuration (like kubespawner's ``profile_list``)::

    [{"display_name": "GPU", "slug": "gpu", "description": "1 GPU, 8 GB",
      "allowed_groups": ["ml"],               # offered only to these groups / users
      "overrides": {"extra_resource_limits": {"nvidia.com/gpu": "1"}, "mem_limit": "8G"},
      "profile_options": {
          "image": {"display_name": "Image",
                    "choices": {"torch": {"display_name": "PyTorch", "default": True,
                                          "overrides": {"image": "pytorch/pytorch:2.4"}}},
                    "unlisted_choice": {"enabled": True, "display_name": "Other image",
                                        "validation_regex": "^[a-z0-9./:-]+$",
                                        "overrides": {"image": "{value}"}}}}}]

``kubespawner_override`` is accepted as another name for ``overrides``. The user's choice
is ``user_options = {"profile": "gpu", "image": "torch"}`` (a value that is not a choice's
slug is the unlisted choice's text, when that is enabled). Everything a user sends is
checked against the profiles offered *to that user*: an unknown or withheld profile, an
unknown choice or a text that fails its regex is refused with a message saying which.

Overrides merge: a dict-valued setting (``extra_resource_limits``, ``node_selector``,
``environment``...) is merged key by key across the profile and its options, in order,
so an option's ``{"nvidia.com/gpu": "2"}`` keeps the profile's other limits (replacing
the whole dict would drop them). Everything else is replaced. Pure functions: no I/O,
nothing mutated.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..jobs.profiles import allowed_for
from .slugs import safe_slug

UNLISTED = "unlisted-choice"
_PROFILE_KEYS = {
    "display_name",
    "slug",
    "description",
    "default",
    "overrides",
    "kubespawner_override",
    "profile_options",
    "allowed_users",
    "allowed_groups",
}
_OPTION_KEYS = {"display_name", "choices", "unlisted_choice"}
_CHOICE_KEYS = {"display_name", "default", "overrides", "kubespawner_override", "description"}
_UNLISTED_KEYS = {
    "enabled",
    "display_name",
    "validation_regex",
    "validation_message",
    "overrides",
    "kubespawner_override",
}


class OptionsError(ValueError):
    """The user's options are not acceptable; the message says why, for the user."""


@dataclass(frozen=True)
class Unlisted:
    display_name: str
    regex: str
    message: str
    overrides: dict


@dataclass(frozen=True)
class Option:
    name: str
    display_name: str
    choices: dict[str, dict]  # slug -> {"display_name", "default", "overrides"}
    unlisted: Unlisted | None = None

    @property
    def default(self) -> str | None:
        for slug, choice in self.choices.items():
            if choice.get("default"):
                return slug
        return next(iter(self.choices), None)


@dataclass(frozen=True)
class Profile:
    slug: str
    display_name: str
    description: str = ""
    default: bool = False
    overrides: dict = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    allowed_users: frozenset[str] | None = None
    allowed_groups: frozenset[str] | None = None

    def offered_to(self, user: str, groups: Iterable[str]) -> bool:
        return allowed_for(self.allowed_users, self.allowed_groups, user, groups)


def _unknown(kind: str, got: Iterable[str], allowed: set[str]) -> None:
    extra = sorted(set(got) - allowed)
    if extra:
        raise ValueError(f"{kind} has unknown keys {extra} (allowed: {sorted(allowed)})")


def _overrides(entry: Mapping, where: str) -> dict:
    if "overrides" in entry and "kubespawner_override" in entry:
        raise ValueError(f"{where}: give overrides or kubespawner_override, not both")
    value = entry.get("overrides", entry.get("kubespawner_override", {})) or {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: overrides must be a dict of setting -> value")
    return copy.deepcopy(dict(value))


def parse_profiles(profile_list: Iterable[Mapping]) -> list[Profile]:
    """Check a ``profile_list`` once (at configuration) and return its profiles."""
    profiles: list[Profile] = []
    seen: set[str] = set()
    for i, entry in enumerate(profile_list):
        where = f"profile_list[{i}]"
        if not isinstance(entry, Mapping) or "display_name" not in entry:
            raise ValueError(f"{where} must be a dict with at least display_name")
        _unknown(where, entry, _PROFILE_KEYS)
        slug = entry.get("slug") or safe_slug(str(entry["display_name"]))
        if slug in seen:
            raise ValueError(f"{where}: slug {slug!r} is used twice")
        seen.add(slug)
        options = []
        for name, opt in (entry.get("profile_options") or {}).items():
            owhere = f"{where}.profile_options[{name!r}]"
            _unknown(owhere, opt, _OPTION_KEYS)
            choices = {}
            for cslug, choice in (opt.get("choices") or {}).items():
                _unknown(f"{owhere}.choices[{cslug!r}]", choice, _CHOICE_KEYS)
                choices[str(cslug)] = {
                    "display_name": choice.get("display_name", cslug),
                    "default": bool(choice.get("default")),
                    "overrides": _overrides(choice, f"{owhere}.choices[{cslug!r}]"),
                }
            unlisted = None
            raw = opt.get("unlisted_choice") or {}
            if raw:
                _unknown(f"{owhere}.unlisted_choice", raw, _UNLISTED_KEYS)
            if raw.get("enabled"):
                regex = raw.get("validation_regex") or r"^.+$"
                re.compile(regex)
                unlisted = Unlisted(
                    raw.get("display_name", "Other"),
                    regex,
                    raw.get("validation_message") or f"must match {regex}",
                    _overrides(raw, f"{owhere}.unlisted_choice"),
                )
            if not choices and unlisted is None:
                raise ValueError(f"{owhere} offers no choice")
            options.append(Option(str(name), opt.get("display_name", name), choices, unlisted))
        users, groups = entry.get("allowed_users"), entry.get("allowed_groups")
        profiles.append(
            Profile(
                slug=slug,
                display_name=str(entry["display_name"]),
                description=str(entry.get("description", "")),
                default=bool(entry.get("default")),
                overrides=_overrides(entry, where),
                options=tuple(options),
                allowed_users=None if users is None else frozenset(users),
                allowed_groups=None if groups is None else frozenset(groups),
            )
        )
    return profiles


def offered(profiles: Iterable[Profile], user: str, groups: Iterable[str]) -> list[Profile]:
    groups = list(groups)
    return [p for p in profiles if p.offered_to(user, groups)]


def default_profile(profiles: list[Profile]) -> Profile:
    return next((p for p in profiles if p.default), profiles[0])


def _fill(value, text: str):
    """``{value}`` in override strings becomes the user's text (nothing else is formatted)."""
    if isinstance(value, str):
        return value.replace("{value}", text)
    if isinstance(value, list):
        return [_fill(v, text) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, text) for k, v in value.items()}
    return value


def resolve(
    all_profiles: list[Profile], user_options: Mapping | None, *, user: str, groups: Iterable[str]
) -> tuple[Profile | None, dict[str, str], list[dict]]:
    """Check ``user_options`` and return (profile, the choices made, overrides in order).

    Raises ``OptionsError`` with a message for the user when anything is not acceptable.
    """
    options = dict(user_options or {})
    if not all_profiles:
        if options:
            raise OptionsError(f"this hub offers no options; got {sorted(options)}")
        return None, {}, []
    mine = offered(all_profiles, user, groups)
    if not mine:
        raise OptionsError("no server profile is offered to you; ask the hub's administrator")
    slug = options.pop("profile", None)
    if slug is None or slug == "":
        profile = default_profile(mine)
    else:
        if not isinstance(slug, str):
            raise OptionsError("the profile must be given by its name")
        found = next((p for p in mine if p.slug == slug), None)
        if found is None:
            raise OptionsError(
                f"there is no profile {slug[:100]!r} offered to you "
                f"(offered: {', '.join(p.slug for p in mine)})"
            )
        profile = found
    known = {o.name: o for o in profile.options}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise OptionsError(
            f"profile {profile.slug!r} has no option {', '.join(repr(u[:100]) for u in unknown)}"
        )
    chosen: dict[str, str] = {}
    overrides = [profile.overrides]
    for opt in profile.options:
        value = options.get(opt.name, opt.default)
        if value is None:
            raise OptionsError(f"option {opt.display_name!r} needs a value")
        if not isinstance(value, str):
            raise OptionsError(f"option {opt.display_name!r} must be text")
        if value in opt.choices:
            chosen[opt.name] = value
            overrides.append(opt.choices[value]["overrides"])
        elif opt.unlisted is not None:
            if len(value) > 1024 or not re.fullmatch(opt.unlisted.regex, value):
                raise OptionsError(
                    f"{opt.display_name} {value[:100]!r} is not accepted: {opt.unlisted.message}"
                )
            chosen[opt.name] = value
            overrides.append(_fill(opt.unlisted.overrides, value))
        else:
            raise OptionsError(
                f"{value[:100]!r} is not a choice of {opt.display_name!r} "
                f"(choices: {', '.join(opt.choices)})"
            )
    return profile, chosen, overrides


def merge(base, update):
    """A new value: dicts merged key by key (recursively), anything else replaced."""
    if isinstance(base, Mapping) and isinstance(update, Mapping):
        out = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in update.items():
            out[key] = merge(out[key], value) if key in out else copy.deepcopy(value)
        return out
    return copy.deepcopy(update)


def options_from_form(form: Mapping[str, list[str]]) -> dict:
    """The form's fields (lists of strings, as the hub passes them) as ``user_options``.

    Only the chosen profile's fields are read; checking is ``resolve``'s job.
    """

    def first(key: str) -> str | None:
        values = form.get(key) or []
        return values[0] if values else None

    slug = first("profile")
    out: dict = {}
    if slug is None:
        return out
    out["profile"] = slug
    prefix = f"profile-option-{slug}--"
    for key in form:
        if key.startswith(prefix) and not key.endswith("--" + UNLISTED):
            name = key[len(prefix) :]
            value = first(key)
            if value == UNLISTED:
                value = first(f"{key}--{UNLISTED}") or ""
            out[name] = value
    return out


def render_form(profiles: list[Profile], previous: Mapping | None = None) -> str:
    """The options form's HTML (inside the hub's own ``<form>``): one radio per profile
    offered, a select per option, a text box for an unlisted choice. Everything escaped."""
    if not profiles:
        return ""
    previous = dict(previous or {})
    selected = previous.get("profile")
    if selected not in {p.slug for p in profiles}:
        selected = default_profile(profiles).slug
    e = html.escape
    parts = ['<div class="jupyter-kf-profiles">']
    for p in profiles:
        checked = " checked" if p.slug == selected else ""
        pid = f"profile-item-{e(p.slug)}"
        parts.append(
            f'<div class="form-check jupyter-kf-profile">'
            f'<input class="form-check-input" type="radio" name="profile" id="{pid}" '
            f'value="{e(p.slug)}"{checked}>'
            f'<label class="form-check-label" for="{pid}"><strong>{e(p.display_name)}</strong>'
            f"{' — ' + e(p.description) if p.description else ''}</label>"
        )
        for opt in p.options:
            field_name = f"profile-option-{p.slug}--{opt.name}"
            current = previous.get(opt.name) if p.slug == selected else None
            parts.append(
                f'<div class="form-group ms-4"><label for="{e(field_name)}">'
                f"{e(opt.display_name)}</label>"
                f'<select class="form-select" name="{e(field_name)}" id="{e(field_name)}">'
            )
            in_choices = current in opt.choices
            for cslug, choice in opt.choices.items():
                sel = (
                    " selected"
                    if (cslug == current or (current is None and cslug == opt.default))
                    else ""
                )
                parts.append(
                    f'<option value="{e(cslug)}"{sel}>{e(choice["display_name"])}</option>'
                )
            if opt.unlisted is not None:
                sel = " selected" if current is not None and not in_choices else ""
                parts.append(
                    f'<option value="{UNLISTED}"{sel}>{e(opt.unlisted.display_name)}</option>'
                )
            parts.append("</select>")
            if opt.unlisted is not None:
                text = e(current) if current is not None and not in_choices else ""
                parts.append(
                    f'<input class="form-control" type="text" '
                    f'name="{e(field_name)}--{UNLISTED}" value="{text}" '
                    f'placeholder="{e(opt.unlisted.display_name)}">'
                )
            parts.append("</div>")
        parts.append("</div>")
    parts.append("</div>")
    return "\n".join(parts)
