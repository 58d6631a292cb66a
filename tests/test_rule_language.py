"""Every construct of the rule language, each with a rule and deals it fires and does not fire on."""

from __future__ import annotations

import pytest

from dealcoach.engine.playbook import kb
from dealcoach.engine.problems import InputError

EXAMPLES = "    examples: {fires: [{}], silent: [{}]}\n"


def rules(*bodies: str) -> str:
    return "rules:\n" + "".join(body + EXAMPLES for body in bodies)


def fired(advice: list, rule_id: str = "t.rule") -> list[list[str]]:
    return [a.stakeholders for a in advice if a.rule == rule_id]


ADVICE = """    advice: {zh: "建议", en: "advice"}
"""


def test_equality_membership_and_comparison_select_a_stakeholder(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: coverage
    priority: high
    concepts: [R7]
    when:
      - stakeholder: {as: p, roles: economic_buyer, influence: {gte: 4}}
      - deal: {stage: [evaluation, decision]}
"""
            + ADVICE
        )
    )
    person = {"name": "张伟", "roles": ["economic_buyer"], "influence": 5}
    assert fired(advise({"stage": "evaluation", "stakeholders": [person]})) == [["张伟"]]
    assert fired(advise({"stage": "intent", "stakeholders": [person]})) == []
    assert fired(advise({"stage": "decision", "stakeholders": [{**person, "influence": 3}]})) == []


def test_unknown_matches_a_value_the_rep_left_out(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: coverage
    priority: high
    concepts: [A2]
    when:
      - stakeholder: {as: p, personal_need_met: unknown, attitude: unknown}
"""
            + ADVICE
        )
    )
    assert fired(advise({"stakeholders": [{"name": "甲"}]})) == [["甲"]]
    assert fired(advise({"stakeholders": [{"name": "甲", "personal_need_met": False}]})) == []
    assert fired(advise({"stakeholders": [{"name": "甲", "attitude": "doubt"}]})) == []


def test_join_binds_two_people_and_names_both_in_the_advice(playbook):
    advise = playbook(
        rules("""  - id: t.rule
    category: coverage
    priority: high
    concepts: [R7, R13]
    when:
      - stakeholder: {as: coach, roles: coach, contacted: true}
      - stakeholder: {as: eb, roles: economic_buyer, contacted: false}
    advice:
      zh: "请{{ coach.name }}安排与{{ eb.name }}见面"
      en: "Ask {{ coach.name }} to arrange a meeting with {{ eb.name }}"
""")
    )
    people = [{"name": "王总", "roles": ["economic_buyer"]}, {"name": "小李", "roles": ["coach"], "contacted": True}]
    [advice] = advise({"stakeholders": people})
    assert advice.stakeholders == ["小李", "王总"]
    assert advice.text == "Ask 小李 to arrange a meeting with 王总"
    people[0]["contacted"] = True
    assert fired(advise({"stakeholders": people})) == []


def test_reference_join_follows_reports_to(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: coverage
    priority: high
    concepts: [R8]
    when:
      - stakeholder: {as: boss, roles: economic_buyer}
      - stakeholder: {as: aide, reports_to: $boss.name, contacted: true}
"""
            + ADVICE
        )
    )
    people = [{"name": "王总", "roles": ["economic_buyer"]}, {"name": "小李", "contacted": True, "reports_to": "王总"}]
    assert fired(advise({"stakeholders": people})) == [["王总", "小李"]]
    people[1]["reports_to"] = None
    assert fired(advise({"stakeholders": people})) == []


def test_comparison_with_a_reference(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: coverage
    priority: high
    concepts: [R8]
    when:
      - stakeholder: {as: eb, roles: economic_buyer}
      - stakeholder: {as: p, influence: {gt: $eb.influence}}
"""
            + ADVICE
        )
    )
    eb = {"name": "王总", "roles": ["economic_buyer"], "influence": 3}
    assert fired(advise({"stakeholders": [eb, {"name": "老周", "influence": 5}]})) == [["王总", "老周"]]
    assert fired(advise({"stakeholders": [eb, {"name": "老周", "influence": 2}]})) == []


def test_negation_fires_only_when_no_stakeholder_matches(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: coverage
    priority: high
    concepts: [I2]
    when:
      - not: {stakeholder: {roles: coach}}
"""
            + ADVICE
        )
    )
    assert fired(advise({"stakeholders": [{"name": "甲", "roles": ["user"]}]})) == [[]]
    assert fired(advise({"stakeholders": [{"name": "甲", "roles": ["user", "coach"]}]})) == []


def test_negation_can_join_to_a_bound_person(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: coverage
    priority: high
    concepts: [R8]
    when:
      - stakeholder: {as: eb, roles: economic_buyer}
      - not: {stakeholder: {reports_to: $eb.name, contacted: true}}
"""
            + ADVICE
        )
    )
    people = [{"name": "王总", "roles": ["economic_buyer"]}, {"name": "小李", "reports_to": "王总"}]
    assert fired(advise({"stakeholders": people})) == [["王总"]]
    people[1]["contacted"] = True
    assert fired(advise({"stakeholders": people})) == []


def test_exists_requires_at_least_one_match_without_naming_it(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: competition
    priority: high
    concepts: [C6]
    when:
      - exists: {competitor: {incumbent: true}}
"""
            + ADVICE
        )
    )
    assert fired(advise({"competitors": [{"name": "甲公司", "incumbent": True}]})) == [[]]
    assert fired(advise({"competitors": [{"name": "甲公司"}]})) == []


def test_alternatives_fire_on_either_branch(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: relationship
    priority: high
    concepts: [A1]
    when:
      - any:
          - stakeholder: {as: p, attitude: [resist, sabotage]}
          - stakeholder: {as: p, favors: {known: true}}
"""
            + ADVICE
        )
    )
    assert fired(advise({"stakeholders": [{"name": "甲", "attitude": "sabotage"}]})) == [["甲"]]
    assert fired(advise({"stakeholders": [{"name": "甲", "favors": "乙公司"}]})) == [["甲"]]
    assert fired(advise({"stakeholders": [{"name": "甲", "attitude": "resist", "favors": "乙公司"}]})) == [["甲"]]
    assert fired(advise({"stakeholders": [{"name": "甲", "attitude": "accept"}]})) == []


def test_signal_and_account_conditions(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: negotiation
    priority: high
    concepts: [G1]
    when:
      - signal: price_objection
      - account: {loyalty: [client, supporter, advocate]}
"""
            + ADVICE
        )
    )
    assert fired(advise({"signals": ["price_objection"], "account": {"name": "a", "loyalty": "client"}})) == [[]]
    assert fired(advise({"signals": ["price_objection"], "account": {"name": "a", "loyalty": "prospect"}})) == []
    assert fired(advise({"signals": ["complaint"], "account": {"name": "a", "loyalty": "client"}})) == []


def test_need_and_competitor_conditions_join_to_people(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: needs
    priority: medium
    concepts: [N3]
    when:
      - need: {as: n, kind: implicit}
      - stakeholder: {as: p, name: $n.owner}
      - competitor: {as: c, strength: stronger}
"""
            + ADVICE
        )
    )
    deal = {
        "stakeholders": [{"name": "甲"}],
        "needs": [{"text": "x", "kind": "implicit", "owner": "甲"}],
        "competitors": [{"name": "乙公司", "strength": "stronger"}],
    }
    assert fired(advise(deal)) == [["甲"]]
    deal["needs"][0]["kind"] = "explicit"
    assert fired(advise(deal)) == []


def test_count_compares_how_many_facts_match(playbook):
    advise = playbook(
        rules(
            """  - id: t.rule
    category: coverage
    priority: high
    concepts: [R8]
    when:
      - count: {stakeholder: {contacted: true}}
        eq: 1
"""
            + ADVICE
        )
    )
    one = [{"name": "甲", "contacted": True}, {"name": "乙"}]
    assert fired(advise({"stakeholders": one})) == [[]]
    assert fired(advise({"stakeholders": [*one[:1], {"name": "乙", "contacted": True}]})) == []
    assert fired(advise({"stakeholders": []})) == []


DERIVED_CHAIN = (
    """  - id: t.classify
    category: relationship
    concepts: [A2]
    when:
      - stakeholder: {as: p, org_need_met: false, personal_need_met: false}
    derive:
      relationship: {stakeholder: $p.name, class: opponent}
""",
    """  - id: t.flag
    category: relationship
    concepts: [A2]
    when:
      - relationship: {as: r, class: opponent}
      - stakeholder: {as: p, name: $r.stakeholder, influence: {gte: 4}}
    derive:
      red_flag: {code: influential_opponent, stakeholder: $p.name}
""",
    """  - id: t.rule
    category: relationship
    priority: high
    concepts: [A2]
    when:
      - red_flag: {as: f, code: influential_opponent}
"""
    + ADVICE,
)


DERIVED_TYPES = """relationship:
  label: {zh: 关系类型, en: relationship class}
  fields:
    stakeholder: {type: stakeholder, zh: 干系人, en: stakeholder}
    class: {type: relationship_class, zh: 类型, en: class}
red_flag:
  label: {zh: 危险信号, en: red flag}
  fields:
    code: {type: red_flag, zh: 危险信号, en: flag}
    stakeholder: {type: stakeholder, zh: 干系人, en: stakeholder}
"""


def test_derived_facts_chain_two_levels_deep(playbook):
    advise = playbook(rules(*DERIVED_CHAIN), derived=DERIVED_TYPES)
    opponent = {"name": "甲", "org_need_met": False, "personal_need_met": False, "influence": 5}
    assert fired(advise({"stakeholders": [opponent]})) == [["甲"]]
    assert fired(advise({"stakeholders": [{**opponent, "influence": 3}]})) == []
    assert fired(advise({"stakeholders": [{**opponent, "personal_need_met": True}]})) == []


def test_explain_shows_which_rule_derived_each_fact(playbook):
    advise = playbook(rules(*DERIVED_CHAIN), derived=DERIVED_TYPES)
    opponent = {"name": "甲", "org_need_met": False, "personal_need_met": False, "influence": 5}
    [advice] = advise({"stakeholders": [opponent]})
    assert advice.because == ["甲: flag = influential opponent"]
    assert advice.chain[0].startswith("甲: flag = influential opponent ← by rule t.flag: 甲: class = opponent")
    assert advice.chain[1].startswith("  甲: class = opponent ← by rule t.classify: 甲: organisational need met = no")


def test_rule_metadata_reaches_the_advice(playbook):
    advise = playbook(
        rules("""  - id: t.rule
    category: stage
    priority: medium
    concepts: [R6, R5]
    when:
      - deal: {stage: research}
    because: {zh: "调研阶段", en: "research is under way"}
    advice: {zh: "在{{ deal.account.name }}调研", en: "research at {{ deal.account.name }}"}
""")
    )
    [advice] = advise({"stage": "research"})
    assert (advice.rule, advice.category, advice.priority, advice.concepts) == (
        "t.rule",
        "stage",
        "medium",
        ["R6", "R5"],
    )
    assert advice.text == "research at a"
    assert advice.because == ["research is under way", "deal: stage = research"]


def test_a_specific_rule_supersedes_a_generic_one_for_the_same_people(playbook):
    advise = playbook(
        rules(
            """  - id: t.generic
    category: coverage
    priority: high
    concepts: [R7]
    when:
      - stakeholder: {as: eb, roles: economic_buyer, contacted: false}
"""
            + ADVICE,
            """  - id: t.specific
    category: coverage
    priority: high
    concepts: [R7]
    supersedes: [t.generic]
    when:
      - stakeholder: {as: coach, roles: coach, contacted: true}
      - stakeholder: {as: eb, roles: economic_buyer, contacted: false}
"""
            + ADVICE,
        )
    )
    eb = {"name": "王总", "roles": ["economic_buyer"]}
    assert [a.rule for a in advise({"stakeholders": [eb]})] == ["t.generic"]
    coach = {"name": "小李", "roles": ["coach"], "contacted": True}
    assert [a.rule for a in advise({"stakeholders": [eb, coach]})] == ["t.specific"]


def test_advice_that_gives_way_itself_no_longer_silences_the_generic_advice(playbook):
    def rule(rule_id: str, supersedes: str, when: str) -> str:
        head = f"  - id: {rule_id}\n    category: coverage\n    priority: high\n    concepts: [R7]\n"
        return head + (f"    supersedes: [{supersedes}]\n" if supersedes else "") + f"    when:\n{when}" + ADVICE

    eb = "      - stakeholder: {as: eb, roles: economic_buyer, contacted: false}\n"
    coach = "      - stakeholder: {as: coach, roles: coach, contacted: true}\n"
    silent = "      - stakeholder: {as: coach, roles: coach, contacted: true, days_since_contact: {gte: 30}}\n"
    advise = playbook(
        rules(
            rule("t.generic", "", eb),
            rule("t.specific", "t.generic", coach + eb),
            rule("t.most-specific", "t.specific", silent + eb),
        )
    )
    people = [{"name": "王总", "roles": ["economic_buyer"]}, {"name": "小李", "roles": ["coach"], "contacted": True}]
    assert [a.rule for a in advise({"stakeholders": people})] == ["t.specific"]
    people[1]["days_since_contact"] = 40
    assert sorted(a.rule for a in advise({"stakeholders": people})) == ["t.generic", "t.most-specific"]


def _leave_and_pursue(supersedes: str) -> str:
    return rules(
        f"""  - id: t.leave
    category: qualification
    priority: high
    concepts: [P5]
    supersedes: [{supersedes}]
    when:
      - deal: {{position: follower}}
"""
        + ADVICE,
        """  - id: t.pursue
    category: coverage
    priority: high
    concepts: [R7]
    when:
      - stakeholder: {as: eb, roles: economic_buyer}
"""
        + ADVICE,
    )


def test_advice_about_the_whole_deal_supersedes_the_generic_advice_for_everyone(playbook):
    advise = playbook(_leave_and_pursue("t.pursue"))
    eb = {"name": "王总", "roles": ["economic_buyer"]}
    assert [a.rule for a in advise({"position": "follower", "stakeholders": [eb]})] == ["t.leave"]
    assert [a.rule for a in advise({"position": "leader", "stakeholders": [eb]})] == ["t.pursue"]


def test_a_rule_may_supersede_a_whole_category_but_never_itself(playbook):
    advise = playbook(_leave_and_pursue("coverage, qualification"))
    eb = {"name": "王总", "roles": ["economic_buyer"]}
    assert [a.rule for a in advise({"position": "follower", "stakeholders": [eb]})] == ["t.leave"]


def test_supersedes_names_a_rule_or_a_category(write_rules):
    with pytest.raises(InputError, match="supersedes names 'nothing', which is not a rule or a category"):
        kb.load([write_rules(_leave_and_pursue("nothing"))])


def test_not_over_a_derived_fact_waits_for_every_derivation(playbook):
    """The advice rule negates red flags; it must not fire before the flag has been derived."""
    advise = playbook(
        rules(
            DERIVED_CHAIN[0],
            DERIVED_CHAIN[1],
            """  - id: t.rule
    category: relationship
    priority: low
    concepts: [A1]
    when:
      - stakeholder: {as: p, attitude: resist}
      - not: {red_flag: {code: influential_opponent, stakeholder: $p.name}}
"""
            + ADVICE,
        ),
        derived=DERIVED_TYPES,
    )
    opponent = {"name": "甲", "attitude": "resist", "org_need_met": False, "personal_need_met": False}
    for _ in range(5):  # the agenda order varies with object ids; the answer must not
        assert fired(advise({"stakeholders": [{**opponent, "influence": 5}]})) == []
        assert fired(advise({"stakeholders": [{**opponent, "influence": 2}]})) == [["甲"]]


def test_a_derived_fact_that_depends_on_its_own_absence_is_rejected(write_rules):
    import pytest

    from dealcoach.engine.playbook import kb
    from dealcoach.engine.problems import InputError

    text = rules(
        """  - id: t.loop
    category: relationship
    concepts: [A2]
    when:
      - stakeholder: {as: p}
      - not: {relationship: {stakeholder: $p.name}}
    derive:
      relationship: {stakeholder: $p.name, class: stranger}
""",
        """  - id: t.rule
    category: relationship
    priority: low
    concepts: [A2]
    when:
      - relationship: {as: r}
"""
        + ADVICE,
    )
    with pytest.raises(InputError, match="depend, through a 'not', on their own absence"):
        kb.load([write_rules(text, derived=DERIVED_TYPES.split("red_flag:")[0])])
