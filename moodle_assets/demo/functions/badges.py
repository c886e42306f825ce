"""core_badges_get_user_badges."""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset, Record
from ..errors import MoodleException
from .common import require_user, site_url


def get_user_badges(data: Dataset, caller: int, params: dict[str, Any]) -> Record:
    """``courseid`` limits to that course's badges; ``perpage`` 0 = all."""
    if not data.config.badges_enabled:
        raise MoodleException("badgesdisabled", "Badges are not enabled on this site.")
    user = require_user(data, params["userid"] or caller)
    rows = [i for i in data.issued_badges if i["userid"] == user["id"]]
    badges = {b["id"]: b for b in data.badges}
    if params["courseid"]:
        rows = [i for i in rows if badges[i["badgeid"]]["courseid"] == params["courseid"]]
    if params["search"]:
        rows = [i for i in rows if params["search"].lower() in badges[i["badgeid"]]["name"].lower()]
    if params["perpage"] > 0:
        start = max(params["page"], 0) * params["perpage"]
        rows = rows[start : start + params["perpage"]]
    records = []
    for issued in rows:
        badge = badges[issued["badgeid"]]
        records.append(
            {
                "id": badge["id"],
                "name": badge["name"],
                "description": badge["description"],
                "timecreated": badge["timecreated"],
                "timemodified": badge["timemodified"],
                "usercreated": 2,
                "usermodified": 2,
                "issuername": "Test issuer",
                "issuerurl": "http://issuer-url.domain.co.nz",
                "issuercontact": "issuer@example.com",
                "expiredate": None,
                "expireperiod": None,
                "type": badge["type"],
                "courseid": badge["courseid"],
                "message": "Test message body",
                "messagesubject": "Test message subject",
                "attachment": 1,
                "notification": 0,
                "nextcron": None,
                "status": badge["status"],
                "issuedid": issued["id"],
                "uniquehash": issued["uniquehash"],
                "dateissued": issued["dateissued"],
                "dateexpire": issued["dateexpire"],
                "visible": issued["visible"],
                "recipientid": user["id"],
                "recipientfullname": user["fullname"],
                "email": user["email"],
                "version": "1.0",
                "language": "en",
                "imageauthorname": "Image author",
                "imageauthoremail": "author@example.com",
                "imageauthorurl": "http://image.example.com/",
                "imagecaption": "Image caption",
                "badgeurl": f"{site_url()}/webservice/pluginfile.php/1/badges/badgeimage/{badge['id']}/f3",
                "alignment": [],
                "relatedbadges": [],
            }
        )
    return {"badges": records, "warnings": []}


HANDLERS = {"core_badges_get_user_badges": get_user_badges}
