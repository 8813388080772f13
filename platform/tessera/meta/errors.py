from dataclasses import dataclass
@dataclass(frozen=True)
class MetaError:
    source: str      # file path as given, e.g. "apps/sales/objects/opportunity.yaml"
    path: str        # dotted path inside the document, e.g. "fields.amount.type" ("" for the root)
    message: str     # what is wrong, e.g. "'curency' is not a field type"
    def __str__(self): return f"{self.source}: {self.path}: {self.message}" if self.path else f"{self.source}: {self.message}"
class MetadataInvalid(Exception):
    def __init__(self, errors): self.errors = list(errors); super().__init__("\n".join(map(str, self.errors)))
