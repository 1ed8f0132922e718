"""The one response contract: the fields of a response and who may set them, their validation,
the fingerprint, the packing of answers and the SQL that stores them.

Both write paths are built from it: the HTTP API (`surveys.services.submissions`, one response
at a time, one SQL statement on the hot path) and the file import
(`surveys.services.imports.responses`, whole columns at a time). Modules:

- `contract`: field definitions, the design-field rule, the base-weight rule;
- `keys`: respondent ids and the stored panel key;
- `fingerprint`: the content hash (scalar and column-wise) and the derived submission ids
  of imported rows (UUID v8 of respondent and wave, scalar and column-wise);
- `layout`: an instrument version's item layout (the codec is `datafiles.answers`);
- `sql`: the insert statements, with the column list written once.
"""

from datafiles.answers import (
    AnswerError,
    ItemLayout,
    pack_answers,
    unpack_answers,
    validate_answers,
)

from .fingerprint import (
    FINGERPRINT_FIELDS,
    content_hash,
    derived_submission_id,
    derived_submission_keys,
    is_derived_submission_id,
)
from .keys import IdentifyingKeyError, RespondentKeyError, panel_key_for
from .layout import layout_for, layout_for_version

__all__ = [
    "FINGERPRINT_FIELDS", "AnswerError", "IdentifyingKeyError", "ItemLayout",
    "RespondentKeyError", "content_hash", "derived_submission_id",
    "derived_submission_keys", "is_derived_submission_id",
    "layout_for", "layout_for_version", "pack_answers", "panel_key_for",
    "unpack_answers", "validate_answers",
]
