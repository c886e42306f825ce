"""core_webservice_get_site_info: who the token is and what it may call."""

from __future__ import annotations

import hashlib
from typing import Any

from ..dataset import ADMIN_ID, SITE_NAME, Dataset
from ..releases import release_of
from .common import cache_rev, context, require_user, site_url

_ADVANCED = [
    ("usecomments", 1),
    ("usetags", 1),
    ("enablenotes", 1),
    ("messaging", 1),
    ("enableblogs", 1),
    ("enablecompletion", 1),
    ("enablebadges", 1),
    ("messagingallusers", 0),
    ("enablecustomreports", 1),
    ("enableglobalsearch", 0),
    ("mnet_dispatcher_mode", 0),
    ("enablecompetencies", 1),
]


def get_site_info(data: Dataset, caller: int, params: dict[str, Any]) -> dict[str, Any]:
    user = require_user(data, caller)
    config = data.config
    features = dict(_ADVANCED)
    features["enablebadges"] = int(config.badges_enabled)
    features["enablecompetencies"] = int(config.competencies_enabled)
    admin = caller == ADMIN_ID
    release = release_of(config)
    return {
        "sitename": SITE_NAME,
        "username": user["username"],
        "firstname": user["firstname"],
        "lastname": user["lastname"],
        "fullname": user["fullname"],
        "lang": "en",
        "userid": user["id"],
        "siteurl": site_url(),
        "userpictureurl": f"{site_url()}/theme/image.php/boost/core/{cache_rev(data)}/u/f1",
        "functions": [
            {"name": name, "version": release.function_version(name, config.version)} for name in context().functions
        ],
        "downloadfiles": 1,
        "uploadfiles": 0,
        "release": config.release,
        "version": config.version,
        "mobilecssurl": "",
        "advancedfeatures": [{"name": k, "value": v} for k, v in features.items()],
        "usercanmanageownfiles": True,
        "userquota": 0 if admin else 104857600,
        "usermaxuploadfilesize": -1 if admin else 2097152,
        "userhomepage": 1,
        "userprivateaccesskey": hashlib.md5(f"{config.seed}-{caller}".encode()).hexdigest(),
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": admin,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        "policyagreed": 0,
    }


HANDLERS = {"core_webservice_get_site_info": get_site_info}
