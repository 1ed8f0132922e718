"""Domain errors raised by services, with their messages in Indonesian and English.

Services raise these with a message code and parameters; the API exception handler
(surveys.api.exceptions) maps them to 400/403/409 and renders the message in the request's
language, and management commands turn them into CommandError (English). Field errors use the
same codes: ``errors`` maps a field to a list of ``Msg`` or, for ``answers``, an item code to a
list of ``Msg``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: code -> (Indonesian, English). Parameters are str.format fields.
MESSAGES: dict[str, tuple[str, str]] = {
    "invalid": ("Data tidak valid.", "Invalid input."),
    "wave_closed": (
        "Gelombang {wave} sudah ditutup; jawaban tidak dapat lagi dikirim atau diubah.",
        "Wave {wave} is closed; responses can no longer be submitted or changed.",
    ),
    "submission_conflict": (
        "submission_id {submission_id} sudah dipakai untuk jawaban dengan isi yang berbeda.",
        "submission_id {submission_id} was already used for a response with different content.",
    ),
    "respondent_duplicate": (
        "Responden ini sudah memiliki jawaban di gelombang ini dengan submission_id lain.",
        "This respondent already has a response in this wave under another submission_id.",
    ),
    "response_final": (
        "Jawaban ini sudah dikirim final dan tidak dapat diubah.",
        "This response has been submitted and is final; it cannot be changed.",
    ),
    "region_forbidden": (
        "Wilayah {region} berada di luar wilayah tugas Anda.",
        "Region {region} is outside your assigned regions.",
    ),
    "unknown_region": ("Wilayah {region} tidak dikenal.", "Unknown region {region}."),
    "unknown_item": ("Kode butir tidak dikenal.", "Unknown item code."),
    "not_integer": (
        "Jawaban harus bilangan bulat atau null.",
        "The answer must be an integer or null.",
    ),
    "out_of_range": (
        "Jawaban harus di antara {min} dan {max}.",
        "The answer must be between {min} and {max}.",
    ),
    "required": ("Butir ini wajib dijawab.", "This item must be answered."),
    "respondent_identifying": (
        "ID responden tampak seperti NIK atau nomor telepon; gunakan kode pseudonim.",
        "The respondent id looks like a NIK or phone number; use a pseudonymous code.",
    ),
    "respondent_invalid": (
        "ID responden tidak valid: {reason}.", "Invalid respondent id: {reason}."
    ),
    "invitation_invalid": ("Kode undangan tidak dikenal.", "Unknown invitation code."),
    "invitation_used": (
        "Kode undangan ini sudah dipakai.",
        "This invitation code has already been used.",
    ),
    "unknown_role": (
        "Peran {role} tidak dikenal; pilih salah satu dari: {choices}.",
        "Unknown role {role}; choose one of: {choices}.",
    ),
    "region_not_for_role": (
        "Wilayah hanya dapat ditugaskan kepada enumerator dan kantor.",
        "Regions can only be assigned to enumerators and offices.",
    ),
    "region_required": (
        "Peran {role} memerlukan paling sedikit satu --region.",
        "Role {role} needs at least one --region.",
    ),
    "unknown_user": ("Pengguna {username} tidak dikenal.", "Unknown user {username}."),
    "unknown_instrument": (
        "Instrumen {instrument} tidak dikenal.", "Unknown instrument {instrument}."
    ),
    "unknown_version": (
        "Instrumen {instrument} tidak memiliki versi {version}.",
        "Instrument {instrument} has no version {version}.",
    ),
    "unknown_wave": (
        "Tidak ada gelombang {instrument} {year}.",
        "There is no wave {instrument} {year}.",
    ),
    "wave_version_mismatch": (
        "Gelombang {instrument} {year} sudah memakai versi {current}, bukan {version}.",
        "Wave {instrument} {year} already uses version {current}, not {version}.",
    ),
    "response_not_found": (
        "Jawaban {submission_id} tidak ditemukan di gelombang ini.",
        "Response {submission_id} not found in this wave.",
    ),
    "wave_not_found": ("Gelombang {wave} tidak ditemukan.", "Wave {wave} not found."),
    "count_positive": ("Jumlah harus positif.", "The count must be positive."),
    "respondent_forbidden": (
        "Akun responden ini hanya dapat mengirim jawaban untuk responden yang terikat padanya "
        "(responden pada kiriman pertamanya).",
        "This respondent account may only submit for the respondent it is bound to (the "
        "respondent of its first submission).",
    ),
    # the response contract (surveys.ingest): design fields, base weight, respondent keys
    "design_field_forbidden": (
        "Akun responden tidak boleh mengisi {field}: rancangan sampel (strata, PSU, bobot dasar) "
        "ditetapkan oleh enumerator, impor, atau admin.",
        "A respondent account may not send {field}: the sample design (stratum, PSU, base "
        "weight) is set by enumerators, imports or admins.",
    ),
    "weight_not_finite": (
        "Bobot dasar {value} harus angka terhingga lebih dari 0.",
        "The base weight {value} must be a finite number greater than 0.",
    ),
    "weight_not_positive": (
        "Bobot dasar {value} harus lebih dari 0.",
        "The base weight {value} must be greater than 0.",
    ),
    "weight_above_population": (
        "Bobot dasar {value} melebihi penduduk dewasa wilayah {region} ({cap}, tahun {year}).",
        "The base weight {value} exceeds the adult population of region {region} ({cap}, "
        "year {year}).",
    ),
    "weight_above_cap": (
        "Bobot dasar {value} melebihi batas {cap} (wilayah tanpa data penduduk).",
        "The base weight {value} exceeds the limit of {cap} (a region without population "
        "figures).",
    ),
    "respondent_empty": ("ID responden kosong.", "The respondent id is empty."),
    "respondent_too_long": (
        "ID responden lebih dari {max} karakter.",
        "The respondent id is longer than {max} characters.",
    ),
    "respondent_unprintable": (
        "ID responden memuat karakter kendali atau tak terlihat ({char}).",
        "The respondent id contains a control or invisible character ({char}).",
    ),
    "respondent_formula": (
        "ID responden tidak boleh diawali '{char}' (dibaca sebagai rumus oleh spreadsheet).",
        "The respondent id may not start with '{char}' (spreadsheets read it as a formula).",
    ),
    "respondent_key_taken": (
        "ID responden ini sudah dipakai oleh responden lain; akun responden hanya dapat "
        "memakai ID yang dibuat untuknya atau yang tercantum pada undangannya.",
        "This respondent id already belongs to someone else; a respondent account may only use "
        "an id created for it or the one named by its invitation.",
    ),
    "strict_string": ("Harus berupa teks (string JSON).", "Must be a JSON string."),
    "strict_number": (
        "Harus berupa angka JSON, bukan teks atau boolean.",
        "Must be a JSON number, not a string or a boolean.",
    ),
    "strict_uuid": (
        "Harus berupa UUID yang ditulis sebagai teks.", "Must be a UUID written as a string."
    ),
}


@dataclass(frozen=True)
class Msg:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str = "en") -> str:
        id_text, en_text = MESSAGES.get(self.code, (self.code, self.code))
        template = en_text if lang.startswith("en") else id_text
        return template.format(**self.params)


FieldErrors = dict[str, list[Msg] | dict[str, list[Msg]]]


def render_errors(errors: Mapping[str, Any], lang: str) -> dict[str, Any]:
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

    def message(self, lang: str = "en") -> str:
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
