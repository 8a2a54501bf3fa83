"""Matching wired to storage: stored story embeddings, blocks, preferences, and the API."""

from __future__ import annotations

from sameboat.adapters.storage.models import Block, ListenerProfile
from sameboat.domain.matching import Timing, story_embedding_version
from sameboat.services import matching
from tests.factories import make_listener, make_member, make_sponsor
from tests.integration.conftest import api_token


def test_saving_a_story_stores_its_embedding_and_model(services) -> None:  # type: ignore[no-untyped-def]
    listener = make_listener(services, tags=["grief-parent"])
    with services.uow() as uow:
        profile = uow.session.get(ListenerProfile, listener.id)
        assert profile.embedding_model == story_embedding_version(services.embedder.model_version)
        assert len(profile.story_embedding) == 384 * 4
        profile.embedding_model = "some-older-model"  # as if the model had changed since
    assert matching.reembed_stale_stories(services) == 1
    with services.uow() as uow:
        assert uow.session.get(ListenerProfile, listener.id).embedding_model == story_embedding_version(
            services.embedder.model_version
        )
    assert matching.reembed_stale_stories(services) == 0


def test_member_gets_lived_experience_matches_and_blocks_hold(services) -> None:  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services)
    member = make_member(services, code.code)
    grief = make_listener(services, name="Ruth", tags=["grief-parent"])
    job = make_listener(services, name="Sam", tags=["job-loss"])
    text = "My mum died in the spring and I still can't believe she's gone. I keep picking up the phone to call her."
    result = matching.match_for_member(services, member, text, [], timing=Timing.LATER)
    assert result.matches[0].listener_id == grief.id
    assert result.matches[0].explanation
    with services.uow() as uow:
        uow.session.add(Block(blocker_id=member.id, blocked_id=grief.id))
    after_block = matching.match_for_member(services, member, text, [], timing=Timing.LATER)
    assert grief.id not in [m.listener_id for m in after_block.matches]
    assert job.id in [m.listener_id for m in after_block.matches]
    # A listener blocking the member keeps the pair apart too.
    with services.uow() as uow:
        uow.session.add(Block(blocker_id=job.id, blocked_id=member.id))
    assert not matching.match_for_member(services, member, text, [], timing=Timing.LATER).matches


def test_nobody_online_means_empty_now_with_a_reason(services) -> None:  # type: ignore[no-untyped-def]
    _, code = make_sponsor(services)
    member = make_member(services, code.code)
    make_listener(services, tags=["divorce"])
    result = matching.match_for_member(services, member, "my divorce is tearing me apart", [], timing=Timing.NOW)
    assert result.matches == () and result.reason


def test_matches_api(client, world, services) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, world.users["member"].email)
    body = client.post(
        "/api/v1/matches", headers=headers, json={"text": "my wife left and we are getting divorced, I have two kids"}
    ).json()
    assert body["matches"][0]["listener"]["display_name"] == "Dana"
    assert body["matches"][0]["explanation"]
    assert "@" not in str(body)
    short = client.post("/api/v1/matches", headers=headers, json={"text": "sad"}).json()
    assert short["needs_more_detail"] and short["prompt"]
    huge = client.post("/api/v1/matches", headers=headers, json={"text": "divorce " * 2000}).json()
    assert huge["text_truncated"]
    bad = client.post("/api/v1/matches", headers=headers, json={"text": "x", "listener_gender": "robot"})
    assert bad.status_code == 422
    listener_headers = api_token(client, world.users["listener"].email)
    assert client.post("/api/v1/matches", headers=listener_headers, json={"text": "hi"}).status_code == 403
