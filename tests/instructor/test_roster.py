"""Reading a class roster from CSV: good files, and bad rows reported by their line."""

from __future__ import annotations

import io

import pytest

from cnnwidgets.instructor.classroom.roster import RosterError, import_roster, read_roster
from cnnwidgets.instructor.course import Course

from .conftest import cnnkit, copy_course


def _read(text: str):
    return read_roster(io.StringIO(text), name="class.csv")


def _problems(text: str) -> list[str]:
    with pytest.raises(RosterError) as info:
        _read(text)
    assert str(info.value).startswith("class.csv: ")
    return info.value.problems


def test_reads_nbgrader_columns_quotes_blank_lines_and_a_bom():
    roster = _read(
        "\ufeffID,First_Name,last_name,email,section\n"
        "ada,Ada,Lovelace,ada@example.org,A\n"
        "\n"
        'grace,Grace,"Hopper, Jr.",,B\n'
    )
    assert [(s.id, s.line) for s in roster.students] == [("ada", 2), ("grace", 4)]
    assert roster.students[1].last_name == "Hopper, Jr."
    assert roster.students[1].email is None
    assert roster.columns == ["id", "first_name", "last_name", "email"]
    assert roster.ignored == ["section"]


def test_student_id_column_of_an_export_is_the_id():
    roster = _read("student_id,last_name\nada,Lovelace\n")
    assert roster.students[0].id == "ada"


def test_a_quoted_line_break_keeps_later_line_numbers_right():
    roster = _read('id,last_name\nada,"Love\nlace"\ngrace,Hopper\n')
    assert [(s.id, s.line) for s in roster.students] == [("ada", 2), ("grace", 4)]


def test_every_bad_row_is_named_by_its_line():
    problems = _problems(
        "id,first_name,email\n"
        "ada,Ada,ada@example.org\n"
        ",Nobody,x@example.org\n"
        "bob smith,Bob,bob@example.org\n"
        "ada,Ada again,ada2@example.org\n"
        "carl,Carl,not-an-address\n"
        "dora,Dora\n"
        "eve+1,Eve,eve@example.org\n"
    )
    assert problems == [
        "line 3: no student id",
        "line 4: student id 'bob smith' cannot contain spaces, '/', '\\', '+' or '*' or start "
        "with '.' (it names folders and exchange hand-ins)",
        "line 5: student id 'ada' is already on line 2",
        "line 6: 'not-an-address' is not an e-mail address",
        "line 7: 2 field(s), the header has 3 (a value with a comma needs quotes)",
        "line 8: student id 'eve+1' cannot contain spaces, '/', '\\', '+' or '*' or start "
        "with '.' (it names folders and exchange hand-ins)",
    ]


def test_header_problems():
    assert _problems("") == ["the file is empty: the first line must name the columns"]
    assert _problems("name,email\nada,a@b.org\n") == [
        "line 1: no 'id' column in the header ['name', 'email']"
    ]
    (semicolons,) = _problems("id;first_name\nada;Ada\n")
    assert "separated by ';'" in semicolons
    assert _problems("id,username\nada,ada\n") == [
        "line 1: column 'username' repeats column 1 ('id')"
    ]


def test_too_long_values_and_non_utf8_files(tmp_path):
    (long,) = _problems(f"id,last_name\nada,{'x' * 129}\n")
    assert long == "line 2: last_name is 129 characters, the gradebook keeps at most 128"
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("id,last_name\nzoe,Müller\n".encode("latin-1"))
    with pytest.raises(RosterError) as info:
        read_roster(latin1)
    assert str(info.value).startswith(f"{latin1}: ")
    assert info.value.problems == ["line 2: not UTF-8 text; save the sheet as 'CSV UTF-8'"]


def test_import_adds_then_updates_only_the_columns_given(tmp_path):
    course = Course(copy_course(tmp_path / "course", []))
    added, updated = import_roster(course, _read("id,last_name,email\nada,Lovelace,a@x.org\n"))
    assert (added, updated) == (["ada"], [])
    added, updated = import_roster(course, _read("id,first_name\nada,Ada\nbob,Bob\n"))
    assert (added, updated) == (["bob"], ["ada"])
    with course.gradebook() as gb:
        ada = gb.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "a@x.org")


def test_cli_reports_the_bad_line_and_imports_nothing(tmp_path):
    root = copy_course(tmp_path / "course", [])
    roster = tmp_path / "class.csv"
    roster.write_text("id,email\nada,ada@example.org\nbob,bob-at-example\n")
    run = cnnkit("--course", str(root), "roster", "import", str(roster))
    assert run.returncode == 1
    assert "line 3: 'bob-at-example' is not an e-mail address" in run.stderr
    assert "nothing imported" in run.stderr
    assert not (root / "gradebook.db").exists()
