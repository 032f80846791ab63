"""docs/api-reference.md is generated from the OpenAPI document and must match the code."""

from django.utils import translation

from yiwang.docs_gen import DEFAULT_OUTPUT, main, openapi_document, render


def generated() -> str:
    with translation.override("zh-hans"):
        return render(openapi_document())


def test_committed_api_reference_is_up_to_date():
    assert DEFAULT_OUTPUT.exists(), "docs/api-reference.md is missing: run `make docs` and commit it"
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == generated(), (
        "docs/api-reference.md is out of date with the API: run `make docs` and commit it"
    )


def test_reference_describes_endpoints_parameters_and_errors():
    text = generated()
    assert "| GET | [`/api/v1/me`](#get-apiv1me) | The signed-in user | bearer API token or browser session" in text
    assert "| `level` | query | [Level](#level) \\| null | no | Only this level (1–5) |" in text
    assert "| 404 Not Found | [ErrorOut](#errorout) |" in text
    assert "### ErrorOut" in text


def test_check_mode_reports_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "api-reference.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == generated()
