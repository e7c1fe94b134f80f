"""How results look in a notebook: the HTML preview and plan text."""

from __future__ import annotations

from html import escape

import pyarrow as pa


class PlanText(str):
    """The text of a query plan: prints as is, and shows as preformatted text in notebooks."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{escape(self)}</pre>"


def html(first: pa.Table, total_rows: int | None, remote: list[tuple[str, str]]) -> str:
    """A table of the first rows with the column types in its header, the row
    count (or that more rows follow), and the SQL sent to each remote source."""
    header = "".join(
        f"<th>{escape(field.name)}<br><small>{escape(str(field.type))}</small></th>"
        for field in first.schema
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row.values()) + "</tr>"
        for row in first.to_pylist()
    )
    if total_rows is not None:
        count = f"{total_rows:,} row{'' if total_rows == 1 else 's'}"
    else:
        count = f"first {first.num_rows:,} rows; more follow"
    parts = [
        f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>",
        f"<p>{count}</p>",
    ]
    for source, sql in remote:
        parts.append(f"<details><summary>SQL sent to <code>{escape(source)}</code></summary>"
                     f"<pre>{escape(sql)}</pre></details>")
    return "<div class=\"lakefed\">" + "".join(parts) + "</div>"


def _cell(value: object) -> str:
    if value is None:
        return "<i>NULL</i>"
    return escape(str(value))
