"""The spawner's side of profiles: the options form it offers, the options it accepts
(checked again on the server against the profiles offered to that user), and the
profile a start applies to its settings. The profiles themselves are ``profiles``
(pure); this is mixed into ``KubeflowSpawner``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tornado import web

from . import profiles


def fail(status: int, message: str) -> web.HTTPError:
    """An error whose message the hub shows as it is (progress page, spawn form, API)."""
    exc = web.HTTPError(status, message.replace("%", "%%"))
    exc.jupyterhub_message = message  # type: ignore[attr-defined]  # JupyterHub reads it
    return exc


class ProfileOptions:
    """Options and profiles for ``KubeflowSpawner`` (a mixin: it reads the spawner's
    ``profile_list``, user and ``user_options``, and changes its settings)."""

    profile_list: list[dict]
    user: Any
    user_options: dict | None
    _parsed_profiles: list[profiles.Profile] | None
    _base_values: dict[str, Any]

    if TYPE_CHECKING:  # the spawner's, from traitlets (a stub here would shadow it)

        def has_trait(self, name: str) -> bool: ...

    def _profiles(self) -> list[profiles.Profile]:
        if self._parsed_profiles is None:
            self._parsed_profiles = profiles.parse_profiles(self.profile_list)
        return self._parsed_profiles

    def _groups(self) -> list[str]:
        return [g.name for g in getattr(self.user, "groups", []) or []]

    def _render_options_form(self) -> str:
        mine = profiles.offered(self._profiles(), self.user.name, self._groups())
        if not self.profile_list:
            return ""
        if not mine:
            return (
                '<p class="alert alert-warning">No server profile is offered to you; '
                "ask the hub's administrator.</p>"
            )
        return profiles.render_form(mine, self.user_options or {})

    def _checked_options_from_form(self, form_data: dict) -> dict:
        options = profiles.options_from_form(form_data)
        self._resolve(options)  # refused here: the form comes back with the message
        return options

    def _check_user_options(self, user_options: dict) -> None:
        self._resolve(user_options)

    def _resolve(
        self, user_options: dict | None
    ) -> tuple[profiles.Profile | None, dict[str, str], list[dict]]:
        try:
            return profiles.resolve(
                self._profiles(), user_options, user=self.user.name, groups=self._groups()
            )
        except profiles.OptionsError as exc:
            raise fail(400, str(exc)) from exc

    def _apply_profile(self) -> str:
        """Reset every setting a profile changed, then apply this start's profile."""
        for trait, value in self._base_values.items():
            setattr(self, trait, copy.deepcopy(value))
        profile, chosen, overrides = self._resolve(self.user_options)
        if profile is None:  # no profiles configured: nothing to apply
            return ""
        for override in overrides:
            for trait, value in override.items():
                if not self.has_trait(trait):
                    raise fail(
                        500,
                        f"profile {profile.slug!r} sets {trait!r}, which "
                        "is not a setting of KubeflowSpawner",
                    )
                if trait not in self._base_values:
                    self._base_values[trait] = copy.deepcopy(getattr(self, trait))
                setattr(self, trait, profiles.merge(getattr(self, trait), value))
        return profile.display_name + "".join(f", {k}={v}" for k, v in chosen.items())
