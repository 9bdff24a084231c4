"""Types as a data engineer writes them in an attributes file (qa12c): the notations error messages and CEL use
(``list(string)``, ``map(string, int)``) are accepted; a type written another way (``optional<string>``,
``array<int>``, YAML ``[string]``, ``uint``) is refused with what to write (``declared_types.parse_type``)."""
from __future__ import annotations

import pytest

from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError


def _traits(t: str):
    return load_attributes_text(f"version: 1\ntraits:\n  tags: {t}\n", "attributes.yaml").declarations.traits["tags"]


@pytest.mark.parametrize("written, same_as", [
    ("'list(string)'", "list<string>"), ("'map(string, int)'", "map<int>"), ("'map<string, int>'", "map<int>"),
    ("'list< map<string, double> >'", "list<map<double>>"),
])
def test_the_notations_of_error_messages_and_cel_are_accepted(written, same_as):
    def prop(t: str):
        text = f"version: 1\nevents:\n  Quote Sent:\n    properties:\n      tags: {t}\n"
        return load_attributes_text(text, "attributes.yaml").declarations.events["Quote Sent"].properties["tags"]
    assert prop(written) == prop(same_as)


@pytest.mark.parametrize("written, advice", [
    ("optional<string>", "write string"), ("string?", "write string"), ("'nullable<int>'", "write int"),
    ("array<int>", "did you mean list<int>?"), ("[string]", "did you mean list<string>?"),
    ("uint", "did you mean int?"), ("'map<int, string>'", "map keys are strings"),
])
def test_a_type_written_another_way_says_what_to_write(written, advice):
    with pytest.raises(JourneyError) as e:
        _traits(written)
    message = "\n".join(e.value.errors)
    assert message.startswith("attributes.yaml:3: traits.tags: ") and advice in message, message


@pytest.mark.parametrize("section, name", [("traits", "email"), ("traits", "firstName"), ("traits", "phone"),
                                           ("properties", "email")])
def test_personal_data_the_parser_never_keeps_cannot_be_declared(section, name):
    text = (f"version: 1\ntraits:\n  {name}: string\n" if section == "traits" else
            f"version: 1\nevents:\n  Signed Up Custom:\n    properties:\n      {name}: string\n")
    with pytest.raises(JourneyError) as e:
        load_attributes_text(text, "attributes.yaml")
    message = "\n".join(e.value.errors)
    assert f"'{name}' is personal data the parser never keeps" in message, message
    assert message.startswith(f"attributes.yaml:{3 if section == 'traits' else 5}: "), message


@pytest.mark.parametrize("t", ["list<string>", "'map<int>'"])
def test_a_list_or_map_trait_which_would_never_be_kept_is_refused(t):
    with pytest.raises(JourneyError) as e:
        _traits(t)  # (stages.attributes keeps scalar traits only: `'vip' in customer.traits.tags` never held)
    message = "\n".join(e.value.errors)
    assert message.startswith("attributes.yaml:3: traits.tags: a trait is one value") and "never be kept" in message


def test_a_json_schema_style_type_says_to_write_the_type_alone():
    with pytest.raises(JourneyError) as e:
        _traits("{type: integer}")
    message = "\n".join(e.value.errors)
    assert "a type is written alone" in message and "name: int" in message, message
