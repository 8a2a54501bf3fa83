"""The resource library as shipped: well-formed, tagged with real taxonomy tags, and rendered safely."""

from __future__ import annotations

import re

import pytest

from sameboat.domain.resources import KINDS, LibraryError, parse_resource, shipped_library
from sameboat.domain.taxonomy import shipped_taxonomy
from sameboat.web.markdown import to_html


def test_every_resource_is_well_formed_and_tagged_with_taxonomy_tags() -> None:
    library = shipped_library()
    taxonomy = shipped_taxonomy()
    assert 8 <= len(library.resources) <= 12
    assert len({r.slug for r in library.resources}) == len(library.resources)
    for resource in library.resources:
        assert resource.tags and not taxonomy.unknown(resource.tags), resource.slug
        assert resource.kind in KINDS and 1 <= resource.minutes <= 60
        assert resource.title and resource.summary and len(resource.body) > 300
    assert {r.kind for r in library.resources} == set(KINDS)


def test_the_crisis_article_uses_the_deployments_crisis_data_and_no_numbers_of_its_own() -> None:
    crisis = [r for r in shipped_library().resources if r.crisis]
    assert [r.slug for r in crisis] == ["when-it-feels-like-too-much"]
    for resource in shipped_library().resources:
        # Phone numbers belong in the crisis-resources data, per deployment; never in an article.
        assert not re.search(r"\b(988|911|999|112|000|116 ?123|741741)\b", resource.body), resource.slug


def test_links_between_resources_point_at_real_slugs() -> None:
    library = shipped_library()
    for resource in library.resources:
        for slug in re.findall(r"\(/resources/([a-z0-9-]+)\)", resource.body):
            assert library.get(slug) is not None, f"{resource.slug} links to unknown {slug}"


def test_markdown_escapes_html_and_refuses_script_links() -> None:
    html = to_html("Hello <script>alert(1)</script> [click](javascript:alert(1)) **bold**")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html and "<strong>bold</strong>" in html


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter", "front matter"),
        ("---\ntitle: x\n---\nbody", "lacks"),
        ("---\ntitle: x\nslug: Bad Slug\nkind: article\nminutes: 3\nsummary: s\ntags: [grief]\n---\nbody", "slug"),
        ("---\ntitle: x\nslug: ok\nkind: video\nminutes: 3\nsummary: s\ntags: [grief]\n---\nbody", "kind"),
        ("---\ntitle: x\nslug: ok\nkind: article\nminutes: 3\nsummary: s\ntags: [made-up]\n---\nbody", "made-up"),
        ("---\ntitle: x\nslug: ok\nkind: article\nminutes: 0\nsummary: s\ntags: [grief]\n---\nbody", "minutes"),
    ],
)
def test_malformed_resource_files_are_refused(text: str, problem: str) -> None:
    with pytest.raises(LibraryError, match=problem):
        parse_resource(text, "test.md", shipped_taxonomy())
