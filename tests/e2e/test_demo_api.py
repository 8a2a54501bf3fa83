"""README promise: `sameboat demo`, then the listeners API with a member token, never shows emails."""

from __future__ import annotations

import httpx

from sameboat.demo.seed import DEMO_PASSWORD, demo_data


def test_demo_listeners_api_with_member_token(demo_server: str) -> None:
    member_email = demo_data()["members"][0]["email"]
    token = httpx.post(
        demo_server + "/api/v1/auth/token", json={"email": member_email, "password": DEMO_PASSWORD}
    ).json()["token"]
    response = httpx.get(demo_server + "/api/v1/listeners", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 40 and len(body["listeners"]) == body["count"]
    assert all(set(item) >= {"id", "display_name", "story", "tags"} for item in body["listeners"])
    for member in demo_data()["members"]:
        assert member["email"] not in response.text
    assert "@" not in response.text  # no email of anyone
    assert httpx.get(demo_server + "/api/v1/listeners").status_code == 401
