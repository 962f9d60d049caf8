"""The demo's sources: a technology RSS feed, a lab's Atom feed, NewsAPI results and a campus
calendar. Times are offsets from now (articles, in hours) or from today (events, in days and hours
UTC), so the demo reads as current any day. Some stories are carried by several sources, to show how
they are merged."""

from __future__ import annotations

from typing import Final

RSS_HOST: Final = "www.harborlight.example"
ATOM_HOST: Final = "notes.openlab.example"
CAL_HOST: Final = "calendar.campus.example"
RSS_URL: Final = f"https://{RSS_HOST}/rss/technology.xml"
ATOM_URL: Final = f"https://{ATOM_HOST}/atom.xml"
CAL_URL: Final = f"https://{CAL_HOST}/events.ics"
TOPICS: Final = ("artificial intelligence", "cybersecurity", "climate")

# (slug, title, hours ago, summary, paragraphs of the page)
RSS_ITEMS: Final = (
    (
        "city-grid-ai",
        "City utility tests artificial intelligence to balance the winter grid",
        3,
        "The pilot forecasts demand street by street and shifts heating loads before peaks.",
        (
            "The city's utility began a three-month pilot on Monday that uses artificial intelligence to forecast "
            "electricity demand for each neighbourhood an hour ahead.",
            "Engineers say the forecasts let the utility shift water-heater and heat-pump loads away from the "
            "evening peak without customers noticing a change in temperature.",
            "The pilot covers 40,000 homes. Results will be published in the spring, the utility said.",
        ),
    ),
    (
        "patch-tuesday",
        "Cybersecurity teams rush to patch a flaw in a popular VPN appliance",
        7,
        "Attackers are scanning for unpatched devices; the vendor has released fixed firmware.",
        (
            "Cybersecurity teams across the region spent the day patching a VPN appliance after its vendor "
            "confirmed that a flaw in its login page was being exploited.",
            "The vendor released fixed firmware overnight and urged customers to update and to rotate the "
            "credentials of every account that used the device.",
        ),
    ),
    (
        "river-restoration",
        "River restoration project opens new wetlands to the public",
        20,
        "Boardwalks and bird hides open this weekend after two years of work.",
        (
            "After two years of work, the restored wetlands along the river open to visitors this weekend, with "
            "two kilometres of boardwalk and three bird hides.",
            "The project is part of the region's climate adaptation plan: the wetlands hold flood water that "
            "would otherwise reach the old town.",
        ),
    ),
    (
        "members/briefing",
        "Members' briefing: what the budget means for climate projects",
        26,
        "A members-only analysis.",
        ("Members only.",),
    ),
)

# (slug, title, hours ago, summary): the same grid story from the lab, under a near-identical title
ATOM_ENTRIES: Final = (
    (
        "2026/grid-pilot",
        "City utility tests artificial intelligence to balance the winter grid.",
        5,
        "Our lab supplied the forecasting model; here is how it works.",
    ),
    (
        "2026/open-weights",
        "Open lab releases a small artificial intelligence model for weather nowcasting",
        30,
        "A model that predicts rain for the next hour from radar images, small enough for a laptop.",
    ),
)

# (publisher, url, title, hours ago, description): NewsAPI's view of the day
NEWSAPI_ARTICLES: Final = (
    (
        "Metro Ledger",
        f"https://{RSS_HOST}/2026/patch-tuesday?utm_source=newsapi&utm_medium=referral",
        "Cybersecurity teams rush to patch a flaw in a popular VPN appliance",
        6,
        "Attackers are scanning for unpatched devices.",
    ),
    (
        "Metro Ledger",
        "https://www.metroledger.example/business/climate-bonds-record",
        "Climate bonds draw record demand from pension funds",
        9,
        "Pension funds bought most of the region's first green bond issue.",
    ),
    (
        "Signal Weekly",
        "https://signalweekly.example/ai/assistants-on-device",
        "Artificial intelligence assistants move onto the phone",
        14,
        "Smaller models now run without sending conversations to a server.",
    ),
)

# (uid, title, days from today, hour UTC, hours long, location, description, rrule, exdate weeks)
EVENTS: Final = (
    (
        "talk-1@campus.example",
        "Public lecture: Cities that adapt to climate change",
        1,
        17,
        1.5,
        "Main Building, Great Court",
        "A public lecture on flood-resilient neighbourhoods. Free, no registration.",
        None,
        None,
    ),
    (
        "meetup-ai@campus.example",
        "Applied AI meetup",
        -6,
        23,
        2.0,
        "Innovation Studio, 3rd floor",
        "Lightning talks and pizza. Bring a project to show.",
        "FREQ=WEEKLY;COUNT=8",
        2,  # the meetup two weeks after the first one is cancelled
    ),
    (
        "fair-1@campus.example",
        "Career fair: technology and engineering",
        5,
        0,
        0,
        "Recreation Center",
        "Over 80 employers. Bring copies of your resume.",
        None,
        None,
    ),
    (
        "old-1@campus.example",
        "Last week's seminar",
        -7,
        15,
        1.0,
        "Room 101",
        "Already over.",
        None,
        None,
    ),
)
