"""The example notebook, executed headlessly in a real Jupyter kernel: any
failing cell fails the test."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from conftest import spark_url

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "federated_join.ipynb"


def test_example_notebook_runs_every_cell(monkeypatch, tmp_path):
    monkeypatch.setenv("LAKEFED_SPARK_URL", spark_url())
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    html = [output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert any("SQL sent to <code>spark</code>" in page for page in html), "no lakefed preview shown"
    assert any("lakefed matches Spark" in str(output.get("data", {})) for output in outputs)
