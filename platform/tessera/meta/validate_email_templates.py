"""Email templates (email_templates/<name>.yaml): the template language and its semantic checks.

Templates are Jinja2, rendered in Jinja's sandbox (ImmutableSandboxedEnvironment: no access to
underscored attributes, no mutation of values, bounded `range`). The only variable is `record`,
the record the message is about; merge fields name its fields and paths through its lookups:

    {{ record.subject }}   {{ record.contact.first_name }}   {{ record.owner.email }}

Filters, `{% if %}` and `{% for %}` work as in Jinja; method calls do not (`record.name.upper()`
reads as a field `upper`: use the filter `record.name|upper`). The HTML body is autoescaped (a
value `<script>` arrives as `&lt;script&gt;`); the text body and the subject are not (they are not
HTML), and the rendered subject loses its line breaks, so a value cannot add mail headers.
A blank value renders as nothing (not "None").

At metadata time every part must parse and every `record.<path>` must exist on the template's
object — the errors name the file, the part (subject, text_body, html_body) and the line.
"""
from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, meta as jinja_meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import MetaError
from .model import Metadata

ROOT = "record"
PARTS = ("subject", "text_body", "html_body")


class TemplateProblem(Exception):
    def __init__(self, line: int | None, message: str):
        self.line, self.message = line, message
        super().__init__(f"line {line}: {message}" if line else message)


def _blank_none(value):
    return "" if value is None else value


@lru_cache(maxsize=2)
def environment(html: bool) -> ImmutableSandboxedEnvironment:
    """The environment of HTML parts (autoescaped) or of text parts (subject, text body)."""
    return ImmutableSandboxedEnvironment(autoescape=html, undefined=StrictUndefined, finalize=_blank_none,
                                         keep_trailing_newline=True)


def parse(text: str, *, html: bool) -> tuple[nodes.Template, list[tuple[tuple[str, ...], int]]]:
    """The template's tree and the record paths it reads ([(('contact', 'email'), line), ...]).
    Raises TemplateProblem for a syntax error, an unknown variable or a `record` used other than
    as `record.<path>`."""
    env = environment(html)
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.lineno, f"template syntax error: {exc.message}") from None
    unknown = sorted(jinja_meta.find_undeclared_variables(tree) - {ROOT} - set(env.globals))
    if unknown:
        raise TemplateProblem(None, f"unknown variable '{unknown[0]}': merge fields are written "
                                    f"{{{{ {ROOT}.field }}}} or {{{{ {ROOT}.lookup.field }}}}")
    paths: list[tuple[tuple[str, ...], int]] = []
    _walk(tree, paths)
    return tree, paths


def _walk(node, paths) -> None:
    if isinstance(node, (nodes.Getattr, nodes.Getitem)):
        steps, root = [], node
        while isinstance(root, (nodes.Getattr, nodes.Getitem)):
            if isinstance(root, nodes.Getattr):
                steps.append(root.attr)
            elif isinstance(root.arg, nodes.Const) and isinstance(root.arg.value, str):
                steps.append(root.arg.value)
            else:
                steps.append(None)      # record[some_expression]: cannot be checked
            root = root.node
        if isinstance(root, nodes.Name) and root.name == ROOT:
            if None in steps:
                raise TemplateProblem(node.lineno, f"merge fields must be named ({ROOT}.field), not computed")
            paths.append((tuple(reversed(steps)), node.lineno))
            return
    elif isinstance(node, nodes.Name) and node.name == ROOT:
        if node.ctx != "load":
            raise TemplateProblem(node.lineno, f"'{ROOT}' is the record: it cannot be assigned")
        raise TemplateProblem(node.lineno, f"use a field of the record ({{{{ {ROOT}.field }}}}), not '{ROOT}' itself")
    for child in node.iter_child_nodes():
        _walk(child, paths)


def check_template_paths(md: Metadata, obj, paths) -> TemplateProblem | None:
    for path, line in paths:
        if md.resolve_path(obj, path) is None:
            return TemplateProblem(line, f"'{obj.name}' has no field '{'.'.join(path)}'")
    return None


def check_email_templates(md: Metadata) -> list[MetaError]:
    errors: list[MetaError] = []
    for comp in md.email_templates.values():
        obj = md.objects.get(comp["object"])
        if obj is None:
            errors.append(MetaError(comp.source, "object", f"there is no object '{comp['object']}'"))
            continue
        for part in PARTS:
            text = comp.get(part)
            if text is None:
                continue
            try:
                _tree, paths = parse(text, html=part == "html_body")
                problem = check_template_paths(md, obj, paths)
            except TemplateProblem as exc:
                problem = exc
            if problem is not None:
                errors.append(MetaError(comp.source, part, str(problem)))
    return errors


def check_send_email(md: Metadata, obj, action, at: str, src: str, deleted: bool, compile_expr, errors) -> None:
    """A workflow's send_email action: the template exists and is of the workflow's object; the
    recipients are text expressions (an email field, or a literal); not on delete (the message
    reads the record after the write, and a deleted record has nothing to read)."""
    if deleted:
        errors.append(MetaError(src, f"{at}.type", "the record is deleted: there is nothing to send an email about"))
        return
    template = md.email_templates.get(action["template"])
    if template is None:
        errors.append(MetaError(src, f"{at}.template", f"there is no email template '{action['template']}'"))
    elif template["object"] != obj.name:
        errors.append(MetaError(src, f"{at}.template", f"email template '{template.name}' is about "
                                                       f"'{template['object']}' records, not '{obj.name}'"))
    for key in ("to", "cc"):
        for i, text in enumerate(action.get(key) or ()):
            compiled = compile_expr(md, obj, text, "text", src, f"{at}.{key}.{i}", errors)
            if compiled is not None and compiled.type != "text":
                errors.append(MetaError(src, f"{at}.{key}.{i}", f"the expression must give an email address "
                                                                f"(text), but gives {compiled.type}"))
