"""Domain errors raised by services, with their messages in Indonesian and English (gettext).

Services raise these with a message code and parameters; the API exception handler
(surveys.api.exceptions) maps them to 400/403/409 and renders the message in the request's
language (the ``code`` is stable for API clients; the text comes from locale/), and management
commands turn them into CommandError in the active language (Indonesian unless
NILAI_LANGUAGE=en). Field errors use the same codes: ``errors`` maps a field to a list of
``Msg`` or, for ``answers``, an item code to a list of ``Msg``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _noop

from surveys.language import in_language

#: code -> English msgid; the Indonesian is in locale/id (gettext). Parameters are str.format
#: fields, filled in after translation.
MESSAGES: dict[str, str] = {
    "invalid": _noop("Invalid input."),
    "wave_closed": _noop("Wave {wave} is closed; responses can no longer be submitted or changed."),
    "submission_conflict": _noop(
        "submission_id {submission_id} was already used for a response with different content."),
    "respondent_duplicate": _noop(
        "This respondent already has a response in this wave under another submission_id."),
    "response_final": _noop("This response has been submitted and is final; it cannot be changed."),
    "region_forbidden": _noop("Region {region} is outside your assigned regions."),
    "unknown_region": _noop("Unknown region {region}."),
    "unknown_item": _noop("Unknown item code."),
    "not_integer": _noop("The answer must be an integer or null."),
    "out_of_range": _noop("The answer must be between {min} and {max}."),
    "required": _noop("This item must be answered."),
    "respondent_identifying": _noop(
        "The respondent id looks like a NIK or phone number; use a pseudonymous code."),
    "respondent_invalid": _noop("Invalid respondent id: {reason}."),
    "invitation_invalid": _noop("Unknown invitation code."),
    "invitation_used": _noop("This invitation code has already been used."),
    "unknown_role": _noop("Unknown role {role}; choose one of: {choices}."),
    "region_not_for_role": _noop("Regions can only be assigned to enumerators and offices."),
    "region_required": _noop("Role {role} needs at least one --region."),
    "unknown_user": _noop("Unknown user {username}."),
    "unknown_instrument": _noop("Unknown instrument {instrument}."),
    "unknown_version": _noop("Instrument {instrument} has no version {version}."),
    "unknown_wave": _noop("There is no wave {instrument} {year}."),
    "wave_version_mismatch": _noop(
        "Wave {instrument} {year} already uses version {current}, not {version}."),
    "response_not_found": _noop("Response {submission_id} not found in this wave."),
    "wave_not_found": _noop("Wave {wave} not found."),
    "count_positive": _noop("The count must be positive."),
    "respondent_forbidden": _noop(
        "This respondent account may only submit for the respondent it is bound to (the "
        "respondent of its first submission)."),
    "design_field_forbidden": _noop(
        "A respondent account may not send {field}: the sample design (stratum, PSU, base "
        "weight) is set by enumerators, imports or admins."),
    "weight_not_finite": _noop("The base weight {value} must be a finite number greater than 0."),
    "weight_not_positive": _noop("The base weight {value} must be greater than 0."),
    "weight_above_population": _noop(
        "The base weight {value} exceeds the adult population of region {region} ({cap}, year "
        "{year})."),
    "weight_above_cap": _noop(
        "The base weight {value} exceeds the limit of {cap} (a region without population "
        "figures)."),
    "respondent_empty": _noop("The respondent id is empty."),
    "respondent_too_long": _noop("The respondent id is longer than {max} characters."),
    "respondent_unprintable": _noop(
        "The respondent id contains a control or invisible character ({char})."),
    "respondent_formula": _noop(
        "The respondent id may not start with '{char}' (spreadsheets read it as a formula)."),
    "respondent_key_taken": _noop(
        "This respondent id already belongs to someone else; a respondent account may only use "
        "an id created for it or the one named by its invitation."),
    # Translators: id: Karakter kendali ({char}) tidak diperbolehkan di sini.
    "control_character": _noop("A control character ({char}) is not allowed here."),
    "strict_string": _noop("Must be a JSON string."),
    "strict_number": _noop("Must be a JSON number, not a string or a boolean."),
    "strict_uuid": _noop("Must be a UUID written as a string."),
    # Translators: id: Bentuk id ini dicadangkan Nilai untuk respons hasil impor; gunakan UUID
    # acak (versi 4).
    "submission_id_reserved": _noop(
        "This id has the form Nilai reserves for imported responses; use a random UUID "
        "(version 4)."),
}


@dataclass(frozen=True)
class Msg:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        """The message in `lang` ("id"/"en"; default: the active language)."""
        msgid = MESSAGES.get(self.code)
        if msgid is None:
            return self.code
        with in_language(lang):
            return gettext(msgid).format(**self.params)


FieldErrors = dict[str, list[Msg] | dict[str, list[Msg]]]


def render_errors(errors: Mapping[str, Any], lang: str | None = None) -> dict[str, Any]:
    """Translate a (possibly nested) mapping of field -> [Msg] into plain strings."""
    out: dict[str, Any] = {}
    for key, value in errors.items():
        if isinstance(value, Mapping):
            out[key] = render_errors(value, lang)
        else:
            out[key] = [m.render(lang) if isinstance(m, Msg) else str(m) for m in value]
    return out


class DomainError(Exception):
    """Base of the errors services raise; `code` names the message, `errors` the fields."""

    http_status = 400

    def __init__(
        self, code: str, *, errors: FieldErrors | None = None, **params: Any
    ) -> None:
        self.msg = Msg(code, params)
        self.errors: FieldErrors = errors or {}
        super().__init__(self.message("en"))

    @property
    def code(self) -> str:
        return self.msg.code

    def message(self, lang: str | None = None) -> str:
        text = self.msg.render(lang)
        if self.errors:
            detail = render_errors(self.errors, lang)
            text = f"{text} {detail}"
        return text


class InvalidInput(DomainError):
    """The request is malformed or breaks a validation rule (400)."""

    http_status = 400


class Forbidden(DomainError):
    """The caller may not do this to this object (403)."""

    http_status = 403


class NotFound(DomainError):
    """No such object, or not one the caller may see (404)."""

    http_status = 404


class Conflict(DomainError):
    """The request conflicts with the stored state (409)."""

    http_status = 409
