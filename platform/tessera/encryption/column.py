"""The column type of an encrypted field: encrypts on bind, decrypts on result.

Built by storage/tables.column_type(), so every statement of the record service — reads, writes,
bulk creates, imports, upserts, exports, workflow actions — goes through it without knowing: the
one data path stays one. The database only ever sees `enc1:…` text (storage is TEXT whatever the
field's max_length: ciphertext is longer, and max_length is the record service's check of the
plaintext).

Comparisons are where ciphertext would silently give wrong answers, so the type's comparator
decides them: `==`, `!=` and IN with plain values on a deterministic field compare with the value's
ciphertext under *every* key of the keyring (rows not yet rotated still match); blank tests
('' and NULL are stored as they are) work on every encrypted field; everything else — ordering,
LIKE, a comparison with another column, any test of a randomized field's value — raises
EncryptedFieldQuery, which the record service answers with a 400 naming the field.
"""
from __future__ import annotations

from sqlalchemy import Text, and_, false, literal, or_, true, type_coerce
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BindParameter, Grouping, Null
from sqlalchemy.types import TypeDecorator

from .cipher import DETERMINISTIC, decrypt, encrypt, equality_ciphertexts
from .keys import required_keyring


class EncryptedFieldQuery(ValueError):
    """A query asks something of an encrypted field that its ciphertext cannot answer."""


_BLANK_OPS = (operators.is_, operators.is_not)
_EQUALITY = (operators.eq, operators.ne, operators.in_op, operators.not_in_op)


def _plain_value(other):
    """The Python value of a comparison's other side, or a marker when it is not a plain value."""
    while isinstance(other, Grouping):
        other = other.element
    if isinstance(other, Null):
        return None
    if isinstance(other, BindParameter):
        return other.value if other.callable is None and not other.expanding else _NOT_PLAIN
    if other is None or isinstance(other, str):
        return other
    return _NOT_PLAIN


_NOT_PLAIN = object()


class EncryptedText(TypeDecorator):
    impl = Text
    cache_ok = True

    def __init__(self, mode: str = "randomized", label: str = ""):
        super().__init__()
        self.mode, self.label = mode, label   # label: object.field, for the messages

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return value
        return encrypt(required_keyring(), self.mode, str(value))

    def process_result_value(self, value, dialect):
        if value is None or value == "":
            return value
        return decrypt(required_keyring(), value)

    def copy(self, **kw):
        return EncryptedText(self.mode, self.label)

    class Comparator(TypeDecorator.Comparator):
        def operate(self, op, *other, **kwargs):
            column_type = self.type
            raw = type_coerce(self.expr, Text())   # the stored text, compared without re-encrypting
            if op in _BLANK_OPS:
                return op(raw, *other, **kwargs)
            if op in (operators.eq, operators.ne):
                value = _plain_value(other[0])
                if value is None or value == "":
                    return op(raw, literal(value, Text()) if value == "" else None)
                if value is not _NOT_PLAIN and column_type.mode == DETERMINISTIC:
                    texts = equality_ciphertexts(required_keyring(), str(value))
                    if op is operators.eq:
                        return or_(*(raw == literal(t, Text()) for t in texts))
                    return and_(*(raw != literal(t, Text()) for t in texts))
            if op in (operators.in_op, operators.not_in_op) and column_type.mode == DETERMINISTIC:
                items = other[0] if isinstance(other[0], (list, tuple)) else None
                values = [_plain_value(v) for v in items] if items is not None else [_NOT_PLAIN]
                if all(v is not _NOT_PLAIN for v in values):
                    texts = [t for v in values if v is not None and v != ""
                             for t in equality_ciphertexts(required_keyring(), str(v))]
                    texts += [v for v in values if v == ""]
                    if op is operators.in_op:
                        return raw.in_(texts) if texts else false()
                    return raw.not_in(texts) if texts else true()
            raise EncryptedFieldQuery(_refusal(column_type, op))

        def reverse_operate(self, op, other, **kwargs):
            raise EncryptedFieldQuery(_refusal(self.type, op))

    comparator_factory = Comparator


def _refusal(column_type: EncryptedText, op) -> str:
    name = column_type.label or "the field"
    if column_type.mode == DETERMINISTIC:
        return (f"{name} is encrypted (deterministic): only == , != and in with values, and ISBLANK, can test it "
                f"— not {getattr(op, '__name__', op)}, sorting or grouping")
    return f"{name} is encrypted (randomized): it cannot be filtered, sorted or grouped (only ISBLANK tests it)"
