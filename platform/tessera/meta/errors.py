from dataclasses import dataclass

# An error names a place and may quote a short value, never paste a huge one back (a key of a
# megabyte, a secret in a value): anything longer is cut here, whoever built the error.
_MAX_PATH, _MAX_MESSAGE = 200, 400


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass(frozen=True)
class MetaError:
    source: str      # file path as given, e.g. "apps/sales/objects/opportunity.yaml"
    path: str        # dotted path inside the document, e.g. "fields.amount.type" ("" for the root)
    message: str     # what is wrong, e.g. "'curency' is not a field type"

    def __post_init__(self):
        object.__setattr__(self, "path", _cut(str(self.path), _MAX_PATH))
        object.__setattr__(self, "message", _cut(str(self.message), _MAX_MESSAGE))

    def __str__(self): return f"{self.source}: {self.path}: {self.message}" if self.path else f"{self.source}: {self.message}"


class MetadataInvalid(Exception):
    def __init__(self, errors): self.errors = list(errors); super().__init__("\n".join(map(str, self.errors)))
