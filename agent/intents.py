"""The offline agent's phrase tables: what an owner types, mapped to tools and their arguments.

Everything here is data, matched against the *cleaned* question (``agent.understand.text``: lower case,
apostrophes dropped, every other non-alphanumeric run one space, slang spelt out, typos fixed: "haven't
bought" -> "have not bought", "at-risk" -> "at risk"). Each entry is a regular expression matched on word
boundaries. Groups and attributes go by position and length (``agent.understand.slots``); intents are
tried in ``INTENT_ORDER`` (``agent.understand.intent``). Add a synonym by adding a line, and a phrasing to
the corpus (``agent/corpus/``) or a test for it.
"""

from __future__ import annotations

# Groups an owner names, strongest first within no particular order: the planner takes the earliest
# match in the question (longest on a tie), so "at-risk regulars" is at_risk.
GROUP_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"(cant|cannot|can not|must not|mustnt)( \w+){0,3} lo+se( them)?|afford to lo+se"
        r"|(big|biggest|top|best|high|heavy|loyal) (spenders|customers|buyers|regulars) (((who|that) (\w+ ){0,2})?"
        r"(havent|have not|not|stopped|no longer|gone quiet|disappeared|vanished|went quiet)|(who"
        r"|that) (\w+ ){0,2}lapsed)"
        r"( \w+){0,4}"
        r"|used to (spend|buy) (a lot|loads|lots|big)|(were|used to be) (my |our )?(best|top|biggest) (customers"
        r"|spenders)"
        r"|best customers (gone|going) (quiet|missing)",
        "cannot_lose_them",
    ),
    (
        r"champions?|vips?|very important (customers|people)|best (customers|clients|buyers|shoppers|regulars)"
        r"|top (\d+ )?(customers|clients|buyers|spenders|shoppers)|(biggest|big|highest) spenders"
        r"|most valuable customers|superfans?|star customers|favou?rite customers|spen(d|t) (the )?most",
        "champions",
    ),
    (
        r"at risk|slipping( away)?|drifting( away)?|fading( away)?|in danger|going cold|cooling off"
        r"|(starting|beginning|start|begin) to (drift|slip|fade)|drift( off| away)"
        r"|used to (be|come) in (all the time|every day|loads|a lot)|(havent|have not) seen (them |much of them )?"
        r"(for|in) a (bit|while)"
        r"|about to (leave|churn|go)|might (leave|churn|stop)|(could|may) (leave|churn)|likely to (leave|churn|stop)"
        r"|losing|loosing",
        "at_risk",
    ),
    (
        r"lapsed|churned|lost customers|former customers|stopped (coming|buying|ordering|shopping|visiting)"
        r"|(havent|have not|hasnt|has not|not) (\w+ )?(bought|ordered|shopped|purchased|visited|been|come|returned"
        r"|seen)"
        r"|dont (come|buy|order|shop)( \w+)? any ?more|no longer (buy|come|shop|order|visit)|gone quiet"
        r"|inactive|used to (come|shop|buy)|in ages|(ive|weve|i have|we have) lost|gone cold|went cold|went quiet"
        r"|drifted (away|off)|fallen away|fell away",
        "lapsed",
    ),
    (r"lapsing|about to lapse|overdue|due back|late for (their|a) (next )?(visit|order)", "lapsing"),
    (r"about to (sleep|fall asleep|doze off)|falling asleep|dozing( off)?|on the brink( of \w+)?", "about_to_sleep"),
    (r"hibernating|dormant|asleep|sleeping", "hibernating"),
    (r"needs? attention|middling|on the fence|lukewarm", "need_attention"),
    (r"promising", "promising"),
    (
        r"potential loyalists?|could become (loyal|regulars)|almost (loyal|regulars)|future regulars"
        r"|rising stars?",
        "potential_loyalists",
    ),
    (r"new customers? segment", "new_customers"),
    (
        r"(new|newest) (customers|clients|buyers|shoppers|people|faces|ones)|newcomers?"
        r"|first time (customers|buyers|shoppers)|first timers?|new customer\b|(just|recently) (joined|started)",
        "new",
    ),
    (
        r"active (customers|buyers|ones|shoppers|stage)|current customers|(who|which \w+|people who|ones who) (are "
        r"|is )?"
        r"still (buying|active|coming|shopping)|(became|become|becoming|turned|went|gone) active|(who is|who are|whos)"
        r" (\w+ )?active",
        "active",
    ),
    (r"loyal( customers| ones| buyers)?|faithful|repeat customers|frequent (customers|buyers|shoppers)", "loyal"),
)
# Group names said bare, counted only where two groups are compared ("new vs lapsed").
BARE_GROUP_WORDS: tuple[tuple[str, str], ...] = ((r"new", "new"), (r"active", "active"), (r"lapsing", "lapsing"))
# Used only when no phrase above matched: "regulars" alone means loyal, "at-risk regulars" does not.
WEAK_GROUP_PHRASES: tuple[tuple[str, str], ...] = ((r"regulars?( customers)?", "loyal"),)

# Breakdown attributes (segment_by). category before product: "product categories" is category.
ATTRIBUTE_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"cit(y|ies)|towns?|live|living|lives|based (in|around|near)|located|locations?|where (\w+ ){0,5}(from|live)",
        "city",
    ),
    (
        r"countr(y|ies)|abroad|overseas|international|nationalit(y|ies)|foreign|outside (of )?(the )?(uk|u\.k\.|us|usa"
        r"|united kingdom|united states|britain|ireland|england|scotland|wales|europe|eu|country)|non[- ]?(uk|us|eu)",
        "country",
    ),
    (r"channels?|online|in (store|shop|person)|instore|web ?shop|website", "channel"),
    (
        r"categor(y|ies)|(types?|kinds?) of products?|departments?|product (types?|lines?|groups?|categor(y|ies))",
        "category",
    ),
    (
        r"products?|items?|what (do|does|did) (\w+ ){1,5}buy|(who|which customers|people who|customers who) buys?"
        r"|best ?sellers?|best ?selling|sku",
        "product",
    ),
    (
        r"consent|opted in|opt ins?|agreed to marketing|subscribed|marketing permission|gdpr|said yes to (\w+ ){0,3}"
        r"(marketing|emails?)|signed up (to|for) (emails?|marketing|the newsletter)|(can|allowed to"
        r"|able to) (\w+ ){0,2}(market to"
        r"|email|contact|message)",
        "marketing_consent",
    ),
)
# Places that are countries, so "how many live in Ireland" breaks down by country, not city.
COUNTRIES = frozenset(
    {
        "united kingdom",
        "uk",
        "england",
        "scotland",
        "wales",
        "ireland",
        "northern ireland",
        "france",
        "germany",
        "spain",
        "italy",
        "netherlands",
        "belgium",
        "portugal",
        "usa",
        "united states",
        "america",
        "canada",
        "australia",
        "new zealand",
        "sweden",
        "norway",
        "denmark",
        "poland",
        "switzerland",
        "austria",
    }
)

SMS_PHRASES = r"texts?( messages?)?|sms|txt"
GOAL_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"win (\w+ ){0,2}back|bring (\w+ ){0,2}back|get (\w+ ){0,2}back|lure (\w+ ){0,2}back|tempt (\w+ ){0,3}back"
        r"|(make|get) them (to )?come back|miss (you|them)",
        "win_back",
    ),
    (r"thank\w*|reward|appreciat\w*", "thank_and_reward"),
    (r"welcome|second (purchase|order|visit)", "welcome_second_purchase"),
    (
        r"upsell|up sell|upgrade|trade up|premium|spend(ing)? (a bit |a little )?more|buy(ing)? more|cross sell"
        r"|bigger (baskets?|orders?)",
        "upsell",
    ),
    (r"re ?engag\w*|wake (\w+ )?up|reconnect|nudge|check in", "re_engage"),
)

# What the question asks for. The planner tries these in the order of INTENT_ORDER (see there).
INTENT_PHRASES: dict[str, str] = {
    "refine_draft": r"shorter|longer|snappier|punchier|more (formal|casual|friendly|playful|urgent|fun|professional"
    r"|personal|polite)|less (formal|pushy|salesy|stiff)|friendlier|warmer|(add|include|give|put in"
    r"|offer|with|throw in) (them )?(a |an )?(\d+ ?(percent|per cent)( off)?|discount|coupon|voucher"
    r"|code)|(make|rewrite|redo|change|tweak|try|reword) (it|that|this|the (draft|email|message|text"
    r"|copy|wording|tone))|as an? (text|sms|email)( message)?( instead)?|tone|another version"
    r"|different (subject|version|tone)|\d+ ?(percent|per cent) off",
    "export_list": r"(export|download|csv|spreadsheet|excel|save) (\w+ ){0,2}(that|this|it|the"
    r"|those|these|them)( \w+){0,2} (list|lot|people|customers|ones|table|file)?|(export|download)"
    r"( (it|that|this|them|those|these))?$|(that|this|the) list (as )?(a )?(csv|file|spreadsheet)",
    "refresh": r"refresh|reload|re ?run|update (the |my |your )?(numbers|data|analysis|results|figures|answer)"
    r"|(added|imported|uploaded|loaded|put in) (\w+ ){0,2}(new|more|the latest|latest|fresh|recent"
    r"|todays|this"
    r" weeks) (sales|orders|data|transactions)|new (sales|orders|data) (are|is) in|run (it|that|this) again",
    "recommend_focus": r"concentrat\w*|focus\w*( on)?|worth my while|most worth|best bet|(who|which)( of (them|those"
    r"|these))? should (i|we) (\w+ )?(contact|target"
    r"|email|call|chase|start with|focus on) first|best return|(which|what) (\w+ ){0,3}(group"
    r"|segment)s? (should|to|is most urgent)"
    r"|who (should i|to|do i) (market|target|email|contact)|top pick|best use of|most urgent"
    r"|opportunit(y|ies)|(start|begin) with|prioriti[sz]e|priority|priorities|most important (group"
    r"|segment)|(which|what) (group|segment|customers?|audience)s? (should (i|we)|to|do (i|we)|"
    r"would you) (target|contact|email|focus|start|work on|go after|care about|pick|chase|look at)"
    r"|(which|what) (group|segment|one)s? first|where (should|do|would) (i|we|you) (start|focus"
    r"|begin|spend)|(biggest|best) opportunit(y|ies)|what should (i|we) do (first|next)"
    r"|recommend|recommendation|advice|advise|suggest (a|which|what|where)|where to (start|begin)"
    r"|(who|which) should (i|we) (target|contact|email|call|chase) first|low hanging fruit"
    r"|quick wins?|most bang for",
    "compare_groups": r"up against|next to|compare|comparison|comparing|compared|versus|vs|contrast|separates?"
    r"|next to (each )?other"
    r"|difference between|differences between|differ"
    r"|different from|side by side|against each other|stack up|how do (\w+ ){1,3}compare",
    "group_entrants": r"started|starting|became|become|becoming|went|gone|turned|fell|fallen|slipped|slid|dropped"
    r"|joined|joining"
    r"|entrants?|made it (into|to)|(who|which \w+|customers|people) (have |has )?(lapsed|churned)"
    r"(?! customers| ones| people| clients)"
    r"|entered|entering|newly|new to|moved into|tipped into|got (into|to)|ended up"
    r"|new customers (did|have) (i|we) (get|got|gain|gained|win|won|acquire|acquired)"
    r"|(got|gained|won|acquired|acquiring|gaining|get|gain|win) (\w+ ){0,2}new customers",
    "rank_groups": r"segments?|groups?|stages?|rfm|segment wise|value at stake|at stake|where (is|does) (the|my) money",
    "top_customers": r"number one customer|(which|what) (individual )?customers (are going to|will) be worth"
    r"|which (\d+|two|three|four|five|ten) (will|are|customers)|top (customers|spenders|buyers"
    r"|spender)|(\d+|ten|twenty) (people|customers) who|which \d+"
    r" customers|(highest|most) (\w+ ){0,2}value|heaviest"
    r" spenders|top (\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty"
    r"|forty|fifty|hundred)|(top|best|biggest|highest) (customers|spenders|buyers) (by|in terms of)"
    r"|(rank|ranking|order|sort) (my |all |the )?customers|customers (ranked|sorted|ordered) by"
    r"|highest (spending|value|paying)|(who|which customers?|which people) (has |have |had )?"
    r"(spent|spends|spend) the most|spent the most|spend the most|biggest spenders|leaderboard"
    r"|(\d+|ten|twenty|five) (best|biggest|top|highest|most valuable) (customers|spenders|buyers)"
    r"|most valuable customers|(highest|most) (predicted|future|expected|lifetime) value",
    "order_value": r"ticket size|in one go|per (go|trip|visit)|average value of (an? |one |each |every )?orders?"
    r"|average (order|basket|spend|transaction|sale"
    r"|ticket|purchase|receipt|bill|amount)|order average"
    r"|spend each time|each time they (buy|shop|order)"
    r"|average out|order values?|aov"
    r"|basket size|(spend|spent|spending) per (order|visit|transaction|purchase|trip|sale)|typical"
    r" (order|basket|spend|transaction)|mean order|how much (do|does|did) (people|customers|a customer"
    r"|each customer|they|someone|my \w+|the \w+) (usually |normally |typically |tend to )?spend"
    r" (per|each|a|on an?|in an?) (order|visit|time|trip|purchase|go|transaction)|(order|basket)"
    r" (sizes?|amounts?) on average|per order on average|value per order",
    "purchase_rhythm": r"before (the|their) next (order|visit|purchase)|cadence|how many days (\w+ ){0,3}(return"
    r"|returning|come back|coming back)"
    r"|how long (\w+ ){0,4}between|between (\w+ )?(purchases|orders|visits)|interval|how regular"
    r"|(days|weeks) (\w+ ){0,2}(pass|go by)|before (\w+ ){0,2}(orders?|buys?|shops?"
    r"|comes? back) again|how often"
    r"|how frequently|(days|time|gaps?|weeks|interval|intervals) between (their )?(orders"
    r"|purchases|visits|orders?|buys)|purchase (rhythm|frequency|cycle|interval)s?|buying (rhythm"
    r"|cycle|frequency|pattern)|rhythm|come back every|(reorder|repurchase|return|repeat) (cycle"
    r"|interval|time|gap)|how long (before|until|till|between|do|does) (\w+ ){0,2}(come back"
    r"|return|reorder|order again|buy again|take to come back)|(order|visit|purchase) frequency"
    r"|how regularly|how many days (until|before|between)",
    "sales_over_time": r"total (\w+ ){0,3}(spent|spend)|what (have|has|did) (\w+ ){0,3}(spent|spend)"
    r"|how many (customers|people) (ordered|bought"
    r"|shopped|purchased|came in)|how much (did|have"
    r"|has) (\w+ ){0,4}(spend|spent|brung in|brought in|bring in)|(money|cash)"
    r" (came|come|coming) in|what did (we|i) (take|make|sell|earn|do)|did we (do|make|take|sell)"
    r"|bought (something|anything)|revenue|sales|turnover|takings|income|earnings|takings"
    r"|how much (money )?(did|have|has|do)"
    r" (we|i|the shop|the business|my shop) (make|made|take|taken|earn|earned|sell|sold|bring"
    r"|brought|do|done|pull|pulled)|how many (orders|purchases|transactions) (did|have|were|came"
    r"|in|last|this|over|since|during)|number of (orders|transactions)|orders (per|each|by|every)"
    r" (month|week)|monthly|month by month|month on month|per month|trend|trends|over time"
    r"|growth|growing|grown|busiest|quietest|how (is|are|was|were|has|have) (sales"
    r"|things|trade|trading|orders)|how (did|has) (the shop|my shop|business) (do|done|been)"
    r"|how many customers (did|have) (we|i) (have|had|get|got|serve|served) (last|this|in|over"
    r"|since|during)|(customers|buyers|shoppers) (last|this) (month|year|week|quarter)",
    "load_data": r"(load|use|open|try|start|import|switch to|set up|play with|swap|put|get|replace|reload"
    r"|give me)\b.*\b"
    r"(demo|demonstration|sample (data|shop|bakery)|example (data|shop)|test (shop|data))|demo (shop"
    r"|data|bakery|cafe)"
    r"|sample (data|shop|bakery)|example (data|shop)|^demo$|demo data please",
    # Setting a campaign up so it can be measured (before it exists), not measuring one that does.
    "plan_campaign": r"(set (\w+ )?up|plan|planning|create|start|run|build|prepare|design|send)\b.*\b(control"
    r" group|hold ?outs?|held out|test group|a control)\b|how (big|many|large|much)\b.*\b(control"
    r"|hold ?out|held out)|(know|tell|see|measure|check|prove) (whether|if) (it|this|that|the \w+)"
    r" (actually |really )?(works?|worked|pays? off|makes a difference)",
    "measure_campaign": r"(win back|campaign|e ?mail|mailing|offer|text)\b.*\b(worth it|make (any |a )?difference"
    r"|waste of money|pa(y|id) off"
    r"|(actually )?(do|did) anything|move the needle|measurable|had an? (\w+ )?effect|effective)"
    r"|did (\w+ ){0,4}(campaign|e ?mail|text|sms|message|newsletter|offer|mailing)\b.*\b(work"
    r"|bring|pay)"
    r"|(measure|results?|how (did|well did|has|is|effective)|performance|evaluate|effect of"
    r"|impact of|lift|uplift|roi|return on|worth (it|sending|emailing)|check)\b.*\b(campaign"
    r"|e ?mail"
    r"|text|sms|message|newsletter|offer|mailing|cmp \d+)|campaign (results?|performance|worth it"
    r"|effect|impact)|cmp \d+|control group|holdout|held out|(people|customers|ones) who (got"
    r"|received"
    r"|were sent) the (email|text|message|offer)|was (it|the campaign|the email) worth"
    r"|worth (emailing|texting|messaging)",
    "draft_campaign": r"(draft|write|compose|create|prepare|make|send|craft|put together|come up with|need|target"
    r"|want)\b.*\b(e ?mails?|newsletter|message|texts?|sms|campaign|promo(tion)?|offer|coupon"
    r"|discount|voucher|letter|subject lines?)"
    r"|draft|write|compose|craft|campaign|newsletter|subject lines?"
    r"|what (should|could|can) i (send|say|offer|write)"
    r"|^(e ?mail|text|sms|message) |(a|an) (\w+ ){0,2}(e ?mail|text|sms|newsletter)\b"
    r"|(e ?mail|text|sms|message|newsletter|promo|offer)s? (for|to) |something (\w+ ){0,2}for "
    r"|(e ?mail|text|sms|message)"
    r" (them|those|these)|reach out|get in touch|marketing (e ?mail|text|message)",
    "segment_migration": r"mov(ed|e|es|ing)|movement|migrat\w*|changed?|changes|shift(ed|s)?|dropped|fell|became|turned"
    r"|went from|downgraded?|used to be|compare|compared (to|with)|since|flow|transitions?"
    r"|who moved where",
    "predict_value": r"predict\w*|forecast\w*|project(ed|ion)?|will (\w+ ){0,3}(spend|buy|order|be worth|bring"
    r"|come back"
    r"|return)|going to (spend|buy|order)|likely to (buy|order|come back|return|purchase|spend|shop)"
    r"|expect(ed|ing)?|lifetime value|clv|ltv|future (value|revenue|spend|sales|purchases)"
    r"|next \d+|next (\w+ )?(days?|weeks?|months?|quarter|year)|chance|probability|odds|likelihood"
    r"|still (alive|a customer)|(likely|likelihood|chances?|probability|odds|prob)( \w+){0,10} still"
    r" (active|customers?|around|shopping|buying|alive|with us|be customers)|worth",
    "cluster_customers": r"clusters?|clustering|groups|groupings|group (my|the|our) customers"
    r"|(kinds|types|sorts) of (customers|shoppers|buyers|people|clients)"
    r"|behave (alike|similarly)|similar customers|natural groupings?|machine learning"
    r"|machine found"
    r"|algorithm|k ?means|personas|outliers?|unusual customers|odd customers|anomal\w*|resellers?"
    r"|come up with|by itself|on its own|automatically",
    "compute_rfm": r"falls? into|spread (across|over|between)|and the rest|segments|segment (my|the|our) customers"
    r"|segmentation|rfm|scores?|scored|scoring|recency frequency"
    r"|split (up )?(my|the|our)? ?customers|how are my customers (split|divided)|divide up"
    r"|(each|every|per|by) segment|segment (\w+ ){0,2}customers as",
    "data_overview": r"how far back|earliest order|(what is|what s) in (my|the|it|here|there) ?(data|file|dataset"
    r"|shop)?|overview|summary"
    r"|summari[sz]e"
    r"|what (data )?(do|can) you see|what do you have|what have you got|what (is|s) loaded"
    r"|how many (customers|orders|purchases|sales|people|products) (do|did|have|are|r)"
    r"|(tell me about|describe) (my|the) (data|shop|business|store|file|numbers)"
    r"|how (is|s) (my|the)? ?(shop|business|store) (doing|going)( overall)?"
    r"|how is business|business (looking|doing|going)|overall|repeat rate|date range"
    r"|dates (\w+ ){0,3}cover|first and last order"
    r"|big picture|overall picture|at a glance|the basics|health check|what can you tell me"
    r"|(percentage|share|proportion) of (my )?customers|returning customers|come back at all"
    r"|headline (numbers|figures|stats)|key (stats|numbers|figures)|snapshot|rundown|run down"
    r"|what (does|do) (the|my) data look like|what (information|kind of data|data)( \w+){0,3}"
    r" (in|got|have)|what you can see|(is|has) the data loaded|in the data",
    "describe_segment": r"tell me (more )?about|tell me more|describe|what (are|is|were) (\w+ ){1,5}like|persona"
    r"|profile"
    r"|what do (we|you|i) know about|typical|characteri[sz]e|characteristics?|what makes"
    r"|deep dive|more about"
    r"|story (with|of|behind)|gist|(sort|type|kind) of (person|people|customer)|ends? up in"
    r"|explain (me )?(how|what|who)"
    r"|what kind of (person|people|customer)|picture of|portrait|lowdown|low down|sketch"
    r"|as if (they were|it was) (one|a) person|explain (the|my|them)|who are these people"
    r"|what (is|s) the (average|typical) (person|customer)",
    "list_customers": r"who|list|show|which|how many|give me|find|get|what are|see|export|download|csv|names"
    r"|count|number of|pull up|mean|means",
}
# Specific before general: a draft, a movement or a forecast names a group too, and must win over a
# plain list of that group; segment_by is decided in the planner (an attribute or place is named).
# refine_draft, export_list and refresh are not tools: they change or repeat the last one.
INTENT_ORDER = (
    "load_data",
    "plan_campaign",
    "measure_campaign",
    "refine_draft",
    "export_list",
    "refresh",
    "recommend_focus",
    "compare_groups",
    "group_entrants",
    "draft_campaign",
    "segment_migration",
    "rank_groups",
    "top_customers",
    "order_value",
    "purchase_rhythm",
    "segment_by",
    "sales_over_time",
    "predict_value",
    "cluster_customers",
    "compute_rfm",
    "data_overview",
    "describe_segment",
    "list_customers",
)

# The rest of the customers, as the second group of a comparison.
EVERYONE_ELSE = (
    r"everyone else|everybody else|the rest( of (my|our|the) (customers|shop))?|all (my |our |the )?other"
    r" customers|(my|our|the) other customers|the others|average customers?|typical customers?"
)

# The group the question refers back to ("how many of *them* live in Leeds?").
PRONOUNS = (
    r"them|they|those|these|their|theirs|that group|this group|that segment|this segment|it|in it"
    r"|that lot|the same (\w+ )?(group|ones|people|customers)|same group|this list|that list|the list"
)
# A follow-up that changes one thing about the last question ("what about champions?").
FOLLOW_UPS = (
    r"^(and|what about|how about|same for|same but|now|ok|okay|also|then|instead|but|just|only|for|no|sorry"
    r"|i meant|i mean|actually|rather|what if|sort (them |it |that )?by|order (them |it |that )?by)\b"
    r"|\binstead$|\btoo$|\bagain$|\bback then$"
)
# Left out when comparing a question with the examples.
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "my",
        "me",
        "i",
        "to",
        "of",
        "in",
        "for",
        "and",
        "or",
        "is",
        "are",
        "do",
        "does",
        "what",
        "who",
        "which",
        "how",
        "can",
        "you",
        "your",
    }
)
# Questions about the assistant itself, not the data.
HELP = r"^(hi|hello|hey|help|thanks?|thank you|cheers)$|what can you do|how do(es)? (this|it|you) work"

# One to twelve, as questions and answers spell them (agent.grounding reads an answer's "two hundred" with these).
SMALL_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
NUMBER_WORDS = {
    **SMALL_NUMBERS,
    "fifteen": 15,
    "twenty": 20,
    "twenty five": 25,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
    "a hundred": 100,
    "a": 1,
    "a couple of": 2,
    "a few": 3,
    "couple of": 2,
    "few": 3,
}
MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
MONTH_WORD = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?"
    r"|nov(ember)?|dec(ember)?)"
)
# Named points in the year, as (month, day): "since Christmas", "since the summer".
SEASONS = {
    "christmas": (12, 25),
    "new year": (1, 1),
    "easter": (4, 1),
    "spring": (3, 1),
    "summer": (6, 1),
    "autumn": (9, 1),
    "fall": (9, 1),
    "winter": (12, 1),
    "black friday": (11, 24),
}
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "quarter": 91, "year": 365}

# Questions the offline agent answers well; the nearest three are offered when a question is not
# understood, so each must plan a tool on its own (a test feeds every one back).
EXAMPLES: tuple[str, ...] = (
    "What's in my data?",
    "Who are my lapsed customers?",
    "Who are my best customers?",
    "Which customers are slipping away?",
    "Show me my RFM segments",
    "Split my customers into 4 groups",
    "Tell me about my champions",
    "Draft an email for my at-risk customers",
    "Write a text message to my new customers",
    "How much will my customers spend in the next 90 days?",
    "Who moved from champions to at risk in the last 3 months?",
    "Break my customers down by city",
    "Which products do my loyal customers buy?",
    "Which channel do my customers use, online or in store?",
    "Load the demo shop",
    "Did my last campaign work?",
)

# Next steps for cases a tool's own (``ToolSpec.next_step``) does not fit, and the question a plain "yes"
# to each stands for.
NEXT_STEPS: dict[str, tuple[str, str | None]] = {
    "list_customers_empty": ('Try another group, e.g. "who are my at-risk customers?".', None),
    "describe_cluster": ("Want the next group, cluster {next}?", "tell me about cluster {next}"),
    "segment_by_group": ("Want an email draft for them?", "draft them an email"),
}
# A plain yes to the last next step.
YES = r"^(yes|yeah|yep|yup|sure|ok|okay|please|go on|go ahead|do it|why not|yes please|ok please|sure thing)$"

MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
# The words a typo is corrected to (``agent.understand.text``): what owners write about customers, orders,
# money, time and messages. A word missing here is never "corrected" into anything else, so a word is
# added when a misspelling of it is seen, with a phrasing test.
VOCABULARY = """
customer customers people buyers shoppers regulars regular clients members audience list lists group groups
segment segments segmentation cluster clusters persona personas profile profiles lifecycle stage stages
champions champion loyal loyalty loyalists potential promising attention hibernating dormant sleeping asleep
lapsed lapsing lapse churned churn churning risk slipping drifting inactive active newest recent recently
lately former lost losing afford cannot quiet vips valuable important favourite favorite spenders spender
best biggest highest lowest largest smallest least worst bottom first second third average typical median
total overall revenue sales sale sold sell selling turnover takings income earnings profit money spend spent
spending spends value worth order orders ordered ordering purchase purchases purchased buying bought buys
basket baskets visit visits visited visiting came come coming back return returned returning repeat often
frequency frequently rhythm between days weeks months month week year years quarter today yesterday since
during period trend trends monthly weekly growth grown growing compared compare comparison versus against
difference different differ side predict prediction predicted forecast expected expect future likely chance
probability alive lifetime draft write email emails newsletter message messages text texts campaign
campaigns offer discount coupon voucher subject lines shorter short longer formal friendly friendlier
playful urgent tone casual warm welcome thank reward upsell engage remind reminder worked work working
result results measure measured control holdout uplift lift effect impact export download spreadsheet csv
file data overview summary summarise summarize picture doing health split break breakdown down city cities
town towns country countries channel channels online store instore shop category categories product
products items item bestsellers consent marketing subscribed agreed show tell give find list describe
recommend recommendation suggest advice explain which where what when many much more less about their them
those these they focus prioritise
prioritize priority target contact reach should start begin next ahead coming entered joined became become
went turned fell dropped moved moving migration changed change since refresh reload update updated added
new faces first time ones please thanks hello help demo sample example load import replace groups kinds
types similar alike unusual outliers resellers scores scored score recency monetary rank ranking ranked
top order value aov weekday weekend morning evening again instead also rather like liked likely last
often back money cash heaviest heavy spender joke recipe opportunity opportunities separate separates
clustering likelihood lowdown business profitable profit means champs lose loose earner earners time
buckets bucket tribes gist ticket cadence
reengagement engagement urgent meant mean sorry actually market sending send sent schedule sales sold
""".strip()

# Tones a draft can be rewritten in (``draft_campaign``'s ``tone``).
TONES: tuple[tuple[str, str], ...] = (
    (r"formal|professional|polite|business ?like|serious", "formal"),
    (r"playful|fun|funny|cheeky|jokey|light ?hearted|witty", "playful"),
    (r"urgent|urgency|pushy|stronger|last chance|fomo", "urgent"),
    (r"warm|warmer|friendly|friendlier|casual|personal|softer|kinder", "warm"),
)
