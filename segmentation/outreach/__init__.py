"""What speaks to customers, and whether it worked: written from a group's facts, with no model and no network.

- ``persona``: a group described as a person, every number from its profile.
- ``drafts``: campaign copy (subject, body, offer) for a group and a channel.
- ``campaign_plan``: before a campaign, who may be contacted and whether the split can show a lift.
- ``campaigns``: a campaign's audience with a random control group held out, its files, and its measurement.
- ``lift``: the revenue lift of a campaign, by a permutation test.
"""

__all__ = ["campaign_plan", "campaigns", "drafts", "lift", "persona"]
