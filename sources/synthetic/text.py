"""Wording for the synthetic support desk: customer messages, agent replies and internal notes.

The simulator calls `TextBank` about twenty times per ticket, so every method only draws from
phrase tables built once in `__init__` and joins the picks. All randomness comes from the
`random.Random` the caller passes in: the same arguments and rng state give the same text.

A hidden frustration level in [0, 1] picks the tone band of every slot: 0 is calm and polite,
about 0.4 mildly annoyed, about 0.7 clearly frustrated, 0.9 and above angry (capitals, "!!!",
blunt wording). Risk cues (legal, churn, executive, security, billing, outage) appear only when
the caller asks for them through `mentions`; the label must not leak through wording the
simulator did not decide on.
"""

from __future__ import annotations

import random
import re

ISSUE_CATEGORIES = ("billing", "technical", "contract", "security", "howto")
MENTIONS = ("legal", "churn", "executive", "security", "billing", "outage")
PRODUCT_AREAS = (
    "api",
    "billing_portal",
    "integrations",
    "reporting",
    "mobile_app",
    "authentication",
    "data_sync",
    "notifications",
    "admin_console",
    "webhooks",
)
CHANNELS = ("email", "chat", "web", "phone")
AGENT_KINDS = (
    "ack",
    "question",
    "update",
    "workaround",
    "resolution",
    "handoff",
    "apology",
    "pending_customer",
    "escalation_ack",
)
NOTE_KINDS = ("handoff", "investigation", "bounceback", "escalation", "outage_link")
AGENT_TIERS = (1, 2, 3, 4)

# ---------------------------------------------------------------------------------------------
# Product nouns: (noun, is_plural). Verbs agree through the (singular, plural) predicate pairs.
# ---------------------------------------------------------------------------------------------
_THINGS: dict[str, tuple[tuple[str, bool], ...]] = {
    "api": (
        ("the API", False),
        ("the REST API", False),
        ("our API calls", True),
        ("the /v2/orders endpoint", False),
        ("the /v1/contacts endpoint", False),
        ("API requests", True),
        ("the bulk export API", False),
        ("the GraphQL API", False),
        ("our API integration", False),
    ),
    "billing_portal": (
        ("the billing portal", False),
        ("the invoices page", False),
        ("the payment settings page", False),
        ("the subscription page", False),
        ("the billing dashboard", False),
        ("the plan upgrade screen", False),
        ("the usage and billing tab", False),
    ),
    "integrations": (
        ("the Salesforce integration", False),
        ("the Slack integration", False),
        ("the Jira connector", False),
        ("the HubSpot sync", False),
        ("the Zendesk integration", False),
        ("our Zapier zaps", True),
        ("the Microsoft Teams app", False),
        ("the NetSuite connector", False),
    ),
    "reporting": (
        ("the reports", True),
        ("the analytics dashboard", False),
        ("scheduled reports", True),
        ("the CSV export", False),
        ("custom reports", True),
        ("the usage report", False),
        ("the weekly summary report", False),
        ("dashboard widgets", True),
    ),
    "mobile_app": (
        ("the mobile app", False),
        ("the iOS app", False),
        ("the Android app", False),
        ("the app", False),
        ("push notifications on the app", True),
        ("offline mode in the app", False),
    ),
    "authentication": (
        ("SSO", False),
        ("SAML login", False),
        ("single sign-on", False),
        ("two-factor login", False),
        ("password reset", False),
        ("the login page", False),
        ("Okta SSO", False),
        ("the MFA prompt", False),
        ("Azure AD login", False),
    ),
    "data_sync": (
        ("the data sync", False),
        ("the nightly sync", False),
        ("record syncing", False),
        ("the import job", False),
        ("the CRM sync", False),
        ("the incremental sync", False),
        ("scheduled imports", True),
    ),
    "notifications": (
        ("email notifications", True),
        ("alert emails", True),
        ("the notification settings", True),
        ("in-app notifications", True),
        ("digest emails", True),
        ("SMS alerts", True),
        ("the reminder emails", True),
    ),
    "admin_console": (
        ("the admin console", False),
        ("user management", False),
        ("the admin panel", False),
        ("role permissions", True),
        ("the audit log page", False),
        ("user provisioning", False),
        ("the workspace settings", True),
    ),
    "webhooks": (
        ("webhooks", True),
        ("our webhook deliveries", True),
        ("the webhook endpoint", False),
        ("webhook retries", True),
        ("event callbacks", True),
        ("the order.created webhook", False),
        ("webhook signatures", True),
    ),
}

_AREA_LABEL = {
    "api": ("API", "REST API", "API access"),
    "billing_portal": ("billing portal", "billing", "invoices"),
    "integrations": ("integration", "integrations", "connector"),
    "reporting": ("reporting", "reports", "dashboards"),
    "mobile_app": ("mobile app", "app", "iOS/Android app"),
    "authentication": ("login", "SSO", "authentication"),
    "data_sync": ("data sync", "sync", "imports"),
    "notifications": ("notifications", "email alerts", "notification"),
    "admin_console": ("admin console", "user admin", "admin settings"),
    "webhooks": ("webhooks", "webhook", "callbacks"),
}

# Noun phrases that read naturally after "with", "about", "from": "{an}" in templates.
_AREA_NP = {
    "api": ("the API", "our API integration", "the REST API"),
    "billing_portal": ("the billing portal", "billing", "invoicing"),
    "integrations": ("the integrations", "the connector", "our integration"),
    "reporting": ("reporting", "the reports", "the dashboards"),
    "mobile_app": ("the mobile app", "the app", "the iOS app"),
    "authentication": ("login", "SSO", "authentication"),
    "data_sync": ("the data sync", "the sync", "imports"),
    "notifications": ("notifications", "email alerts", "the alert emails"),
    "admin_console": ("the admin console", "user admin", "the admin settings"),
    "webhooks": ("webhooks", "webhook delivery", "the callbacks"),
}
_RETURN_WHEN = (
    "this morning",
    "yesterday",
    "after your last release",
    "over the weekend",
    "overnight",
    "a few hours ago",
    "on Monday",
    "right after the maintenance window",
    "around lunchtime",
)

_TEAMS = {
    "billing": ("Billing Operations", "Billing", "Accounts Receivable", "Billing Support"),
    "technical": ("Technical Support", "Product Support", "Platform", "Tier 2 Support"),
    "contract": ("Customer Success", "Renewals", "Account Services", "Contracts"),
    "security": ("Security", "Trust & Security", "Identity", "Security Operations"),
    "howto": ("Product Specialists", "Onboarding", "Solutions", "Customer Education"),
}
_AREA_TEAMS = {
    "api": ("API Platform", "Developer Support"),
    "billing_portal": ("Billing Systems", "Billing Operations"),
    "integrations": ("Integrations", "Partner Integrations"),
    "reporting": ("Analytics", "Reporting"),
    "mobile_app": ("Mobile", "Mobile Apps"),
    "authentication": ("Identity", "Identity & Access"),
    "data_sync": ("Data Pipeline", "Data Sync"),
    "notifications": ("Messaging", "Notifications"),
    "admin_console": ("Admin Experience", "Platform"),
    "webhooks": ("Eventing", "Developer Support"),
}

_WHEN = (
    "since this morning",
    "since yesterday",
    "since your last release",
    "since the weekend",
    "since Monday",
    "for the past hour",
    "for about two days",
    "since we upgraded",
    "on and off all week",
    "since around 9am",
    "since last night",
    "intermittently today",
    "since the maintenance window",
    "for a few hours now",
)

# (singular, plural) predicates for technical problems.
_TECH_PRED = (
    ("keeps timing out", "keep timing out"),
    ("is returning errors", "are returning errors"),
    ("stopped working", "stopped working"),
    ("is failing", "are failing"),
    ("isn't working properly", "aren't working properly"),
    ("is extremely slow", "are extremely slow"),
    ("fails about half the time", "fail about half the time"),
    ("is behaving strangely", "are behaving strangely"),
    ("throws an error", "throw an error"),
    ("is broken", "are broken"),
    ("doesn't load", "don't load"),
    ("is giving us inconsistent results", "are giving us inconsistent results"),
    ("seems to be stuck", "seem to be stuck"),
    ("is not responding", "are not responding"),
)
_TECH_PRED_ANGRY = (
    ("is STILL broken", "are STILL broken"),
    ("is completely broken", "are completely broken"),
    ("is useless right now", "are useless right now"),
    ("does not work. At all", "do not work. At all"),
    ("is a mess", "are a mess"),
    ("keeps falling over", "keep falling over"),
)
_OUTAGE_PRED = (
    ("won't load for anyone on our team", "won't load for anyone on our team"),
    ("is unresponsive for all of our users", "are unresponsive for all of our users"),
    ("times out for every user", "time out for every user"),
    ("is not reachable from any of our offices", "are not reachable from any of our offices"),
    ("isn't working for anyone here", "aren't working for anyone here"),
    ("returns gateway timeouts for everyone", "return gateway timeouts for everyone"),
)

_AREA_SYMPTOMS = {
    "api": (
        "Requests to {t} come back with 429s even though we're well under our rate limit.",
        "Pagination on {t} skips records after the first page.",
        "We get an empty response body from {t} roughly one call in ten.",
        "Our auth token gets rejected by {t} right after we generate it.",
    ),
    "billing_portal": (
        "The invoices page just shows a spinner and never loads.",
        "I can't update the card on file in {t}.",
        "Downloading a PDF invoice gives a blank file.",
        "{T} shows the wrong plan for our workspace.",
    ),
    "integrations": (
        "{T} disconnects every few hours and we have to re-authorize it.",
        "Fields mapped in {t} are coming through empty.",
        "New records aren't showing up through {t}.",
        "{T} is creating duplicate records on our side.",
    ),
    "reporting": (
        "The numbers in {t} don't match what we see in the raw data.",
        "Scheduled reports aren't arriving in our inbox.",
        "Exports cut off at 10,000 rows.",
        "Charts on the dashboard are showing yesterday's data.",
    ),
    "mobile_app": (
        "{T} crashes as soon as I open a ticket.",
        "I get logged out of {t} every few minutes.",
        "Attachments won't upload from {t}.",
        "{T} is stuck on the splash screen after the update.",
    ),
    "authentication": (
        "Users get redirected back to the login page in a loop.",
        "The SAML assertion is being rejected for some of our users.",
        "New hires can't log in through {t}.",
        "The MFA code is never accepted on the first try.",
    ),
    "data_sync": (
        "{T} is missing records from the last few days.",
        "Updated fields aren't syncing back to our CRM.",
        "{T} finishes but half the rows are skipped.",
        "We're seeing duplicate contacts after every run of {t}.",
    ),
    "notifications": (
        "Our team stopped getting alert emails completely.",
        "Notifications arrive hours late.",
        "Users are getting the same notification three or four times.",
        "Unsubscribed users are still receiving digest emails.",
    ),
    "admin_console": (
        "I can't remove deactivated users from {t}.",
        "Role changes in {t} don't seem to save.",
        "The audit log page only shows the last 24 hours.",
        "Inviting new users from {t} fails silently.",
    ),
    "webhooks": (
        "Our endpoint isn't receiving {t} at all.",
        "{T} arrive out of order, which breaks our processing.",
        "The signature check fails on about a third of {t}.",
        "Failed webhook deliveries are never retried.",
    ),
}

_BILLING_PROBLEMS = (
    "I have a question about our latest invoice.",
    "The seat count on our latest bill doesn't match the number of active users we have.",
    "Our plan shows the wrong tier in {t}.",
    "We were billed for {m} seats but only have {n} active users.",
    "The tax on our last invoice looks off.",
    "We need the invoice reissued with our new company address.",
    "Our PO number is missing from the latest invoice, so finance can't process it.",
    "The usage overage on this month's bill doesn't look right to us.",
    "We upgraded mid-month and the proration doesn't add up.",
    "I can't find last quarter's invoices in {t}.",
    "The amount on the invoice doesn't match our order form.",
    "Our annual plan was billed as monthly this cycle.",
)
_CONTRACT_PROBLEMS = (
    "We need to add {n} seats to our contract.",
    "Could you send us a copy of our current order form?",
    "The renewal date shown in {t} doesn't match our agreement.",
    "We'd like to move from the Growth plan to Enterprise.",
    "Our procurement team needs an updated quote before the end of the quarter.",
    "We need to change the billing contact on our agreement.",
    "Can we consolidate our two workspaces under one agreement?",
    "The discount we negotiated isn't reflected in {t}.",
    "We need a W-9 and a signed copy of the MSA for our vendor file.",
    "Our contract says {m} seats but the admin console caps us at {n}.",
    "We were promised a discount on the add-on that never appeared.",
)
_SECURITY_PROBLEMS = (
    "We need help configuring {t} ahead of our security review.",
    "How do we rotate our API keys without downtime?",
    "Could you share your latest SOC 2 report?",
    "A user got an MFA prompt they didn't expect.",
    "We need to enforce SSO for all users in our workspace.",
    "Our security team wants to restrict logins to our IP range.",
    "We'd like to know your data retention policy for deleted records.",
    "Can you confirm which subprocessors handle our data?",
    "We need audit logs exported for our compliance audit.",
    "A former employee still shows as active in {t}.",
    "Our pen testers flagged a missing security header on {t}.",
    "We need to set up SCIM provisioning with our identity provider.",
)
_HOWTO_TASKS = {
    "api": (
        "paginate through all results from the API",
        "create a scoped API token",
        "filter API results by updated date",
        "raise our API rate limit",
    ),
    "billing_portal": (
        "download all invoices at once",
        "add a second billing contact",
        "change our payment method",
        "see usage for the current cycle",
    ),
    "integrations": (
        "map custom fields in the Salesforce integration",
        "connect a second Slack workspace",
        "limit which Jira projects sync",
        "re-authorize the HubSpot connection",
    ),
    "reporting": (
        "schedule a weekly report to a distribution list",
        "build a report grouped by team",
        "export a dashboard to PDF",
        "add a custom field to a report",
    ),
    "mobile_app": (
        "turn on offline mode in the app",
        "log in to the mobile app with SSO",
        "set up push notifications for urgent items only",
        "switch workspaces in the app",
    ),
    "authentication": (
        "enforce MFA for admins only",
        "set up SAML with Okta",
        "let contractors log in without SSO",
        "reset MFA for a user who lost their phone",
    ),
    "data_sync": (
        "run the sync manually",
        "exclude archived records from the sync",
        "change the sync schedule",
        "see which records failed to import",
    ),
    "notifications": (
        "turn off digest emails for the whole team",
        "route alerts to a shared inbox",
        "set quiet hours for notifications",
        "customize the notification template",
    ),
    "admin_console": (
        "bulk-deactivate users",
        "create a read-only role",
        "transfer ownership of the workspace",
        "see who changed a setting",
    ),
    "webhooks": (
        "verify webhook signatures",
        "replay failed webhook deliveries",
        "subscribe to only some event types",
        "add a second webhook endpoint",
    ),
}
_HOWTO_FRAMES = (
    "How do I {task}?",
    "Is there a way to {task}?",
    "Can you tell me how to {task}?",
    "What's the best way to {task}?",
    "I'm trying to {task} and can't find the option.",
    "Quick question: can we {task}?",
    "The docs don't explain how to {task}.",
    "We'd like to {task}. Where is that setting?",
)

# ---------------------------------------------------------------------------------------------
# Tone slots, indexed by band: 0 calm, 1 mildly annoyed, 2 frustrated, 3 angry.
# ---------------------------------------------------------------------------------------------
_GREETINGS = (
    (
        "Hi team,",
        "Hello,",
        "Hi there,",
        "Good morning,",
        "Hi support,",
        "Dear Support,",
        "Hello team,",
        "Hey folks,",
        "Good afternoon,",
        "Hi all,",
    ),
    ("Hi,", "Hello,", "Hi team,", "Hello support,", "Hi again,", "Support team,"),
    ("Hi.", "Support,", "Hello,", "Team,", "To whoever is handling this,"),
    ("", "", "Support.", "Hello??", "Listen,", "Seriously,"),
)
_OPENERS = (
    (
        "Hope you're doing well.",
        "I'm reaching out about {an}.",
        "Quick question about {an}.",
        "I wanted to flag something with {an}.",
        "Hoping you can help with {an}.",
        "We noticed something odd with {an}.",
        "Not sure if this is expected.",
        "Thanks in advance for looking at this.",
        "Reaching out on behalf of our ops team.",
        "Small issue to report with {an}.",
    ),
    (
        "We've run into a problem that's starting to hold us up.",
        "I'm afraid we have an issue with {an} again.",
        "I'd like to get this sorted out fairly quickly.",
        "We're a bit stuck with {an}.",
        "This has been bothering our team for a while.",
        "I'm a little disappointed to be writing about {an} again.",
        "Not ideal timing, but we have a problem with {an}.",
    ),
    (
        "I'm pretty frustrated right now.",
        "This is becoming a real problem for us.",
        "Honestly, this is getting ridiculous.",
        "We're running out of patience with {an}.",
        "I've had enough of {an} breaking.",
        "This is the last thing we needed this week.",
        "Frankly, I expected better from {an}.",
    ),
    (
        "This is completely unacceptable.",
        "I can't believe we're dealing with this AGAIN.",
        "What is going on with your product?!",
        "Unbelievable.",
        "This is a JOKE.",
        "I am absolutely fed up.",
        "{AN} is a disaster.",
        "Enough is enough.",
    ),
)
_IMPACTS = (
    (
        "It's not urgent, but it would be nice to sort out.",
        "A couple of people on my team noticed it.",
        "It's only a minor inconvenience for now.",
        "We have a workaround for the moment.",
        "No rush on this one.",
        "It's affecting a handful of users.",
        "It would help our reporting to get this fixed.",
    ),
    (
        "It's slowing our team down.",
        "This is blocking part of our month-end work.",
        "A few customers have started asking us about it.",
        "We've had to do things manually in the meantime.",
        "It's been affecting about {n} of our users.",
        "Our support team is spending time on workarounds.",
    ),
    (
        "Half my team can't do their jobs.",
        "We've lost most of the day to this.",
        "Our own customers are complaining now.",
        "This is costing us real money.",
        "We have a launch on {day} and this is blocking it.",
        "{n} people are sitting idle because of this.",
    ),
    (
        "Our whole operation is stuck!",
        "We are losing money every hour this goes on!",
        "NOTHING works and my team is just sitting there.",
        "Our customers are screaming at us because of YOUR bug.",
        "We have been dead in the water for hours.",
        "I have {n} people who can't work. Do you understand that?",
    ),
)
_REQUESTS = (
    (
        "Could you take a look when you get a chance?",
        "Any pointers would be appreciated.",
        "Let me know if you need anything else from me.",
        "Thanks for your help!",
        "Would you be able to look into it?",
        "Is this a known issue?",
        "Happy to jump on a call if that helps.",
        "Appreciate any guidance.",
    ),
    (
        "I'd appreciate an update soon.",
        "Could someone look at this today?",
        "Please let me know what the next steps are.",
        "I'd really appreciate a quicker turnaround this time.",
        "Can you give me an ETA?",
        "Please prioritise this if you can.",
    ),
    (
        "I need someone on this now.",
        "Please escalate this.",
        "I need a real answer, not a canned response.",
        "Please treat this as urgent.",
        "I expect a response today.",
        "Can someone who actually knows the product look at this?",
    ),
    (
        "FIX IT.",
        "Get someone on this NOW!!!",
        "I want this fixed TODAY.",
        "Stop sending me canned replies and fix it.",
        "Call me. Immediately.",
        "I want a real person on this right now!",
        "Do your job!",
    ),
)
_NAMES = (
    "Dana",
    "Priya",
    "Marcus",
    "Jen",
    "Tomasz",
    "Aisha",
    "Luis",
    "Kenji",
    "Sofia",
    "Ben",
    "Olu",
    "Hannah",
    "Raj",
    "Chloe",
    "Mateo",
    "Grace",
)
_SIGNOFFS = (
    (
        "Thanks,",
        "Thanks so much,",
        "Best,",
        "Kind regards,",
        "Cheers,",
        "Many thanks,",
        "Best regards,",
        "Thank you,",
    ),
    ("Thanks,", "Regards,", "Best,", "Thanks in advance,"),
    ("Regards,", "Thanks.", "", "Waiting to hear back,"),
    ("", "", "Waiting.", "Regards."),
)

# Risk cues. Two registers: polite (bands 0-1) and blunt (bands 2-3).
_MENTION_TEXT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "legal": (
        (
            "Our legal team has asked me to keep them informed about this.",
            "I've had to loop in our legal counsel on this.",
            "Our lawyers are asking whether this breaches the SLA in our contract.",
            "Legal would like to understand how this squares with the SLA agreement.",
            "We may need to review our contractual remedies if this continues.",
            "Our general counsel has asked for a written summary of this issue.",
            "I believe this falls short of the uptime terms in our MSA, and legal agrees.",
            "Our legal department wants to know what credits apply under the SLA.",
        ),
        (
            "Our lawyers will be in touch.",
            "This is a breach of contract.",
            "This violates our SLA agreement, plain and simple.",
            "We will pursue every remedy available to us.",
            "I'm forwarding this thread to our legal counsel.",
            "Expect to hear from our attorneys.",
            "We are considering legal action.",
            "Legal is already reviewing our contract with you.",
            "If this isn't resolved we'll take it to court.",
        ),
    ),
    "churn": (
        (
            "We're starting to look at alternatives.",
            "To be honest, this is making us reconsider renewing.",
            "Our renewal is coming up and this will weigh on the decision.",
            "Some of my team are asking whether we should switch to another vendor.",
            "We've been approached by a competitor and this isn't helping your case.",
            "I'll need to report this when we review our subscription next quarter.",
            "We're evaluating whether to stay on the platform after this term.",
        ),
        (
            "We will cancel our subscription.",
            "We're switching to a competitor.",
            "We are NOT renewing.",
            "Consider this our notice: we're moving to another vendor.",
            "I'm done, we're cancelling.",
            "We're already talking to your competitors.",
            "Give me one reason not to cancel today.",
            "We will terminate the account at renewal.",
            "We're migrating away from your platform.",
        ),
    ),
    "executive": (
        (
            "Could I speak to your manager about this?",
            "I'd like this raised with someone more senior, please.",
            "Our VP of Operations is asking me for updates on this daily.",
            "My director has asked to be copied on this thread.",
            "Is there a support manager I could talk to?",
            "Our CTO would like a call with your engineering leadership.",
        ),
        (
            "I want to speak to your manager.",
            "Escalate this to your VP. Now.",
            "Our CEO will be contacting yours.",
            "Put me through to a supervisor.",
            "I'm escalating this to your executive team.",
            "Our COO is going straight to your leadership.",
            "Get your head of support on the phone.",
            "I've cc'd our CEO and I expect someone senior to respond.",
        ),
    ),
    "security": (
        (
            "We're worried there may have been unauthorized access to our account.",
            "We noticed a login to our admin account from a location we don't recognise.",
            "Our security team is concerned some customer data may have been exposed.",
            "We saw suspicious API activity on our account overnight.",
            "Could this be a security incident? Some records look like they were accessed by someone else.",
            "One of our admins says someone logged into our admin console who shouldn't have.",
        ),
        (
            "This looks like a data breach.",
            "Someone logged into our admin and it wasn't us!",
            "You exposed our customer data.",
            "We have evidence of unauthorized access.",
            "Our account was compromised through your platform.",
            "This is a security incident and I want it treated as one.",
            "Customer records were leaked. Explain that.",
            "Someone hacked into our workspace.",
        ),
    ),
    "billing": (
        (
            "It also looks like we were charged twice this month.",
            "Could we get a refund for the period this wasn't working?",
            "I think the invoice is wrong as well.",
            "We'd like a credit on our next invoice for this.",
            "Our finance team noticed a duplicate charge on the card.",
            "The invoice {inv} doesn't match what we agreed.",
        ),
        (
            "You charged us twice!",
            "I want a refund.",
            "We will dispute the charge.",
            "Your invoice is wrong and we're not paying it.",
            "I'm filing a chargeback with our bank.",
            "We were overbilled AGAIN.",
            "Refund invoice {inv} in full.",
            "Stop charging our card for a product that doesn't work.",
        ),
    ),
    "outage": (
        (
            "It looks like the whole platform is down for us.",
            "We're seeing a 'service unavailable' page.",
            "Every request is failing with 500 errors.",
            "Nothing is loading for any of our users.",
            "Is there an outage? We can't access anything.",
            "Your status page says all green but we're completely offline.",
        ),
        (
            "Everything is down!",
            "Your service is completely unavailable.",
            "500 errors for all users!!!",
            "The entire platform is DOWN.",
            "Total outage on our side, nobody can log in.",
            "Your whole system is offline and nobody is saying anything.",
        ),
    ),
}

# ---------------------------------------------------------------------------------------------
# Customer replies, chasers, reopen and closing.
# ---------------------------------------------------------------------------------------------
_REPLY_LEADS = (
    (
        "Thanks for getting back to me.",
        "Sure, here's what you asked for.",
        "Thanks for the quick reply.",
        "Of course.",
        "Thanks, happy to help narrow it down.",
        "Got it, thanks.",
        "Sure thing.",
    ),
    (
        "OK, I tried that.",
        "Thanks, though it's taken a while to hear back.",
        "Fine, here you go.",
        "Like I said before.",
        "OK.",
        "Right.",
    ),
    (
        "I already did that.",
        "I already sent this.",
        "Again:",
        "As I said in my first message,",
        "I've answered this already.",
    ),
    (
        "I TOLD you already.",
        "Are you even reading my messages?",
        "For the THIRD time:",
        "Did you read anything I wrote?",
        "Seriously?",
    ),
)
_REPLY_ANSWERS = (
    "We're on {ver}.",
    "It happens in {env}.",
    "It affects every user in our workspace.",
    "Only admins seem to be affected.",
    "It started {w0}.",
    "Here's the request ID: {req}.",
    "I've attached the HAR file.",
    "Screenshot attached.",
    "Steps: log in, open {t}, and it fails right away.",
    "Nothing changed on our side as far as I know.",
    "We did rotate our API keys last week, if that matters.",
    "It happens for about {n} of our {m} users.",
    "The error we see is {err}.",
    "Logs attached, the error shows up around {time} UTC.",
    "Yes, we cleared the cache and tried an incognito window.",
    "No, it happens on every browser we tried.",
    "Our workspace ID is ws-{ws}.",
)
_REPLY_OUTCOMES = (
    (
        "I tried your suggestion but unfortunately it didn't help.",
        "That helped partly: {t} works now, but it's very slow.",
        "The workaround got us going for now, thank you.",
        "We tried that and it worked for some users but not others.",
        "Unfortunately we're still seeing the same behaviour.",
        "That fixed one part of it, but {t} {pred} for the rest of the team.",
    ),
    (
        "We tried the workaround, still seeing the same thing.",
        "That didn't change anything, I'm afraid.",
        "It worked for an hour and then {t} {pred} again.",
        "The workaround helps, but it isn't something we can keep doing.",
        "Still the same problem after trying that.",
    ),
    (
        "I already tried all of that before I contacted you.",
        "That didn't work. Nothing has changed.",
        "Your workaround doesn't work and it's wasting our time.",
        "Same problem. {T} {pred}.",
        "Restarting things is not a fix.",
    ),
    (
        "Clearing my cache is NOT a fix. We did that on day one.",
        "Your 'workaround' made it worse!",
        "It STILL doesn't work!!!",
        "None of your suggestions work. None.",
        "Stop telling me to log out and back in!",
    ),
)
_FOLLOW_CORE = (
    (),  # unused index 0
    (
        "Just checking in on this.",
        "Any update?",
        "Following up on my previous message.",
        "Is there any news on this ticket?",
        "Just wanted to see where this stands.",
        "Hi, any progress here?",
        "Gentle nudge on this one.",
        "Checking in on my request.",
        "Did anyone get a chance to look at this?",
        "Bumping this thread.",
        "Any updates on the issue I reported?",
    ),
    (
        "This is the second time I'm asking for an update.",
        "Still waiting to hear back.",
        "I haven't heard anything since my last message.",
        "Following up again.",
        "Could someone please respond to this ticket?",
        "I still have no answer on this.",
        "I sent a follow-up already and got nothing back.",
        "Is anyone looking at this at all?",
        "Second follow-up on this ticket.",
    ),
    (
        "This is my {ord} follow-up and still nothing.",
        "I've now asked {n} times.",
        "{N} follow-ups and not a single reply.",
        "Why is nobody answering this ticket?",
        "I have followed up {n} times with no response.",
        "Still silence after {n} messages.",
        "Hello? Is ANYONE there?",
        "I keep writing and nobody answers.",
        "I've chased this {n} times now.",
    ),
)
_FOLLOW_TAIL = (
    (
        "Thanks!",
        "Thanks in advance.",
        "Appreciate it.",
        "No rush, just keeping it on the radar.",
        "Let me know if you need anything from me.",
        "",
    ),
    (
        "I'd appreciate an update.",
        "Please let me know where things stand.",
        "We're still blocked on this.",
        "A quick status would help us plan.",
        "This is taking longer than I expected.",
        "",
    ),
    (
        "This is really not OK.",
        "I need a response today.",
        "We're still stuck.",
        "The silence is frustrating.",
        "I expect better than this.",
        "Please escalate.",
    ),
    (
        "This is ridiculous!",
        "UNACCEPTABLE.",
        "Answer me!!!",
        "Worst support I've ever dealt with.",
        "Do you even read these?",
        "What am I paying you for?!",
    ),
)
_REOPEN_CORE = (
    "The problem is back.",
    "{T} {pred} again.",
    "This was marked resolved, but it isn't.",
    "I'm reopening this because the issue has come back.",
    "The fix didn't hold: {t} {pred} again.",
    "We're seeing exactly the same issue as before.",
    "Sorry to reopen, but it's happening again.",
    "It worked for a couple of days and now it's broken again.",
    "The issue came back {w0}.",
    "You closed this ticket but nothing was actually fixed.",
    "Same problem as last time, {t} {pred}.",
    "Unfortunately this started again {w0}.",
)
_REOPEN_TONE = (
    (
        "Could you take another look?",
        "Sorry to bother you again.",
        "Not sure what changed.",
        "Happy to share more details.",
    ),
    (
        "This is a bit disappointing.",
        "I'd hoped this was sorted.",
        "Please look at it again.",
        "I'd rather not go through the whole process again.",
    ),
    (
        "Why was this closed?",
        "This should not have been marked resolved.",
        "I'm tired of reporting the same thing.",
        "Please actually fix it this time.",
    ),
    (
        "DON'T close tickets that aren't fixed!",
        "This is the worst support experience ever.",
        "How many times do I have to report this?!",
        "Absolutely ridiculous.",
    ),
)
_CLOSING = {
    True: (
        (
            "Thanks so much, that fixed it!",
            "All working now, thank you!",
            "Perfect, that did the trick. Appreciate the help.",
            "Confirmed fixed on our side. Thanks for the quick help!",
            "Great, everything looks good now. Thank you!",
            "That solved it, cheers!",
            "Thanks, you can close the ticket.",
            "Works now. Thank you for your patience.",
        ),
        (
            "Thanks, that's working now. Took a while though.",
            "OK, it works now. Thanks.",
            "Looks fixed. Appreciate it, eventually.",
            "Fine, that works. Please make sure it doesn't happen again.",
            "It's working again, thanks. Would be good to get a root cause.",
        ),
        (
            "Fine, it works now. That took far too long.",
            "It's working. Not impressed with how long this took.",
            "OK, resolved. I hope we don't have to go through this again.",
            "Finally working. That was a lot of effort for a simple fix.",
        ),
        (
            "Finally. This should never have taken this long.",
            "Fixed. FINALLY.",
            "About time.",
            "It works. Don't expect a good survey score.",
        ),
    ),
    False: (
        (
            "No worries, we'll live with the workaround for now.",
            "Thanks for trying, we'll manage with the workaround.",
            "OK, please let us know if a fix comes out later.",
            "Understood, you can close this for now.",
        ),
        (
            "Still not fixed, but I don't have time to keep chasing this.",
            "OK, we'll use the workaround. Not ideal.",
            "I guess we'll live with it. Please let us know when there's a real fix.",
        ),
        (
            "Still not fixed but whatever.",
            "Forget it, we'll work around it ourselves.",
            "Close it then. It's not fixed, but I'm giving up.",
            "Not fixed. I'm done chasing this.",
        ),
        (
            "Whatever. Close it. It's still broken.",
            "Don't bother. We're done with this ticket.",
            "Useless. Close it.",
            "Still broken. Thanks for nothing.",
        ),
    ),
}

_PHONE_FILLERS = (
    "Yeah, hi, so ",
    "Um, hi. ",
    "Hi, yeah, ",
    "So, ",
    "Okay so ",
    "Right, so ",
    "Yeah. ",
    "Hi, um, ",
)
_CHAT_SHORT = (
    ("hi, {t} {pred}", "quick q: {t} {pred}?", "hello, is {t} ok? it {pred2}", "{t} {pred} {w}"),
    (
        "{t} {pred} again",
        "still an issue with {t}",
        "hi, {t} {pred}. help?",
        "any idea why {t} {pred}?",
    ),
    ("{t} {pred}. again.", "{t} STILL {pred}", "ugh, {t} {pred}", "seriously, {t} {pred}"),
    ("{T} {pred}!!!", "FIX {T}", "{t} {pred} AGAIN wtf", "{T} IS BROKEN!!"),
)

_ENVS = (
    "Chrome 126 on Windows 11",
    "Safari 17 on macOS Sonoma",
    "Firefox 128 on Ubuntu 22.04",
    "Edge on Windows 10",
    "Chrome on a Chromebook",
    "iOS 17.5 on an iPhone 14",
    "Android 14 on a Pixel 8",
    "Chrome 125 on macOS",
    "Firefox ESR on Windows 11",
)
_DAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Monday morning",
    "the 15th",
    "Thursday afternoon",
)
_ORD = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_HTTP = ("500", "502", "503", "504", "401", "403", "404", "409", "422", "429")

# Frames that wrap one artifact into a sentence; the artifact kinds differ per category.
_ARTIFACT_FRAMES = {
    "err": (
        "We're seeing {x} in the response.",
        "The error code is {x}.",
        "It shows {x} on screen.",
        "Error: {x}.",
        "We keep getting {x}.",
    ),
    "http": (
        "The calls come back with HTTP {x}.",
        "We get a {x} status code.",
        "Response status is {x}.",
        "Every other request returns {x}.",
    ),
    "inv": (
        "This is about invoice {x}.",
        "Invoice number: {x}.",
        "See invoice {x}.",
        "The invoice in question is {x}.",
    ),
    "ver": (
        "We're on {x}.",
        "Version {x}.",
        "This started after updating to {x}.",
        "Running {x}.",
    ),
    "req": (
        "Request ID: {x}.",
        "One failing request ID is {x}.",
        "Example request: {x}.",
        "Trace ID {x} if that helps.",
    ),
    "att": (
        "Screenshot attached.",
        "I've attached a screenshot.",
        "Logs attached.",
        "HAR file attached.",
        "I attached a screen recording.",
        "Attached the logs from our side.",
        "See the attached screenshot.",
    ),
    "env": ("This is on {x}.", "We're using {x}.", "Reproduced on {x}."),
    "quote": (
        "Our order form number is {x}.",
        "Quote reference: {x}.",
        "This relates to order form {x}.",
    ),
}
_CATEGORY_ARTIFACTS = {
    "technical": ("err", "http", "ver", "req", "att", "env", "err", "att"),
    "billing": ("inv", "inv", "att", "inv"),
    "contract": ("quote", "att", "inv"),
    "security": ("req", "att", "env", "err"),
    "howto": ("ver", "env", "att"),
}

# ---------------------------------------------------------------------------------------------
# Agent side.
# ---------------------------------------------------------------------------------------------
_AGENT_GREET = (
    "Hi there,",
    "Hello,",
    "Hi,",
    "Hi {name},",
    "Hello {name},",
    "Thanks for reaching out,",
    "Good morning,",
    "",
)
_AGENT_NAMES = (
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Chris",
    "Nina",
    "Omar",
)
_AGENT_SIGN = ("Best regards,", "Kind regards,", "Thanks,", "Best,", "Cheers,", "Warm regards,")

_AGENT_BODY: dict[str, tuple[tuple[str, ...], ...]] = {
    # index 0: tier 1, 1: tier 2, 2: tier 3, 3: tier 4
    "ack": (
        (
            "Thanks for contacting support. I've received your request about {t} and I'm looking into it now.",
            "Thank you for reaching out. I'm sorry to hear {t} is giving you trouble; I'm on it.",
            "Thanks for the details. I've logged this and will get back to you shortly.",
            "I've picked up your ticket and I'm reviewing the information you sent.",
            "Thanks for letting us know about the issue with {t}. I'm taking a look.",
        ),
        (
            "I'm a specialist on our {team} team and I've picked up your case.",
            "Thanks for your patience. I've reviewed the history on this ticket and I'm investigating {t}.",
            "I'm from the {team} team and I'll be your point of contact from here.",
        ),
        (
            "Engineering here. We've picked this up and are reviewing logs for your tenant.",
            "I'm an engineer on the {team} team. I've started digging into the service logs for {t}.",
            "We've opened an internal bug for this and I'm reproducing it now.",
        ),
        (
            "I'm the customer success lead for your account and wanted to reach out personally.",
            "I lead our support organisation and I've been made aware of this ticket.",
            "I wanted to let you know this has my personal attention.",
        ),
    ),
    "question": (
        (
            "Could you tell me which browser and version you're using?",
            "Could you send a screenshot of the error you're seeing?",
            "When did you first notice this happening?",
            "Does this happen for all users or only some of them?",
            "Could you share the exact steps you take before the error appears?",
            "Could you confirm the workspace ID this relates to?",
        ),
        (
            "Could you export a HAR file while reproducing the issue and attach it here?",
            "Can you share the request IDs of a few failing calls?",
            "Which version of the app are your users on?",
            "Could you confirm whether anything changed in how {an} is configured on your side recently?",
            "Would you share the invoice number and the line items you believe are incorrect?",
        ),
        (
            "Can you send the full response body and headers for a failing request, including the x-request-id?",
            "Could you give us a UTC time window when the errors occurred so we can correlate with our logs?",
            "Are you calling us from a fixed IP range? We see some traffic being rejected at the gateway.",
            "Could you enable debug logging on your side and send us the output for one failed run?",
        ),
        (
            "Would you have 30 minutes this week to walk me through the impact on your team?",
            "Could you let me know who else on your side should be included in updates?",
            "What would a good outcome look like for you here?",
        ),
    ),
    "update": (
        (
            "Just a quick update: we're still looking into this and I'll get back to you as soon as I have more.",
            "I wanted to let you know we're still working on your ticket.",
            "Our team is actively investigating and I'll update you by end of day.",
            "Thanks for your patience while we look into {t}.",
        ),
        (
            "I've been able to reproduce the issue with {t} and I've shared it with engineering.",
            "We've narrowed this down to a configuration problem and are testing a fix.",
            "Our {team} team has confirmed the behaviour and is working on next steps.",
        ),
        (
            "We've identified the root cause: a regression introduced in {ver}. A fix is in review and the ETA for deploy is {eta}.",
            "Logs show a spike in {http}s from one of our {a} nodes. We're rolling back the last deploy.",
            "Root cause looks like a stale cache on our side. Fix is being deployed, ETA {eta}.",
            "We've traced this to a race condition in the {a} service. A patch is in QA; expected deploy {eta}.",
        ),
        (
            "I've spoken with our engineering leadership and this is being prioritised.",
            "I wanted to give you a personal update: the fix is scheduled for {eta} and I'll confirm once it's live.",
        ),
    ),
    "workaround": (
        (
            "In the meantime, could you try clearing your browser cache and logging in again?",
            "As a temporary workaround, please try using an incognito window.",
            "Could you try signing out and back in? That resolves this for most users.",
            "While we investigate, you can export the data manually from the settings page.",
        ),
        (
            "As a workaround, you can re-authorize the connection under Settings > Integrations.",
            "Until the fix ships, please trigger the sync manually from {t}.",
            "You can work around this by creating a scoped token and retrying the request.",
        ),
        (
            "Workaround until the fix is deployed: retry with exponential backoff, the failures are transient on our side.",
            "Please pin your client to the previous API version via the version header; the regression only affects the latest.",
            "You can bypass the affected path by disabling batching; we'll let you know when it's safe to re-enable.",
        ),
        (
            "While engineering completes the fix, I've arranged for our team to run the affected jobs manually for you.",
        ),
    ),
    "resolution": (
        (
            "Good news: the issue should now be resolved. Could you confirm on your side?",
            "I've made the change on our side and {t} should be working again.",
            "This has been fixed. Please let us know if you see it again.",
            "Thanks for your patience, the issue is resolved.",
        ),
        (
            "The configuration issue has been corrected and I've verified {t} is working as expected.",
            "I've corrected the invoice and a revised copy is attached.",
            "We've applied the fix to your workspace. Please confirm everything looks right.",
        ),
        (
            "The fix was deployed in {ver}. We've confirmed error rates are back to baseline.",
            "Hotfix is live. Root cause was a bad config push; we've added a check to prevent it recurring.",
            "Deploy completed, we're no longer seeing {err} in the logs for your tenant.",
        ),
        (
            "I'm glad to confirm this is fully resolved. I've also applied a service credit to your account.",
            "The fix is live, and we'll share a full post-incident report with your team.",
        ),
    ),
    "handoff": (
        (
            "I'm transferring your ticket to our {team} team, who specialise in {an}. They'll be in touch shortly.",
            "I've escalated this to a specialist team so they can take a closer look.",
            "I'm handing this over to our {team} specialists, who are better placed to help.",
            "To get you the right expertise, I'm transferring this to our {team} team.",
        ),
        (
            "I'm transferring this to our engineering team for a deeper investigation.",
            "This needs a look from our {team} engineers, so I'm handing it over to that specialist team.",
            "I've passed this to our specialist {team} team along with everything you've sent.",
        ),
        (
            "I'm moving this to the {team} team that owns this service; they have the context from my investigation.",
            "Transferring to the specialist on-call team for {a}, they'll follow up directly.",
        ),
        ("I'm bringing in our specialist {team} team and will stay on the thread myself.",),
    ),
    "apology": (
        (
            "I'm really sorry for the trouble this has caused.",
            "I apologise for the delay in getting back to you.",
            "Sorry for the inconvenience, I understand how frustrating this is.",
            "Apologies for the slow response on this ticket.",
        ),
        (
            "I'm sorry this has taken longer than it should have.",
            "I apologise that the earlier suggestions didn't help.",
        ),
        (
            "Sorry about this, the bug was on our side.",
            "Apologies, this was caused by a change we deployed.",
        ),
        (
            "On behalf of the company, I apologise for the disruption to your team.",
            "I'm sorry we let you down here, and I want to make it right.",
        ),
    ),
    "pending_customer": (
        (
            "We haven't heard back from you in a while. Is this still an issue?",
            "Just checking whether you had a chance to try the steps above.",
            "I'll keep this ticket open for a few more days in case you need anything else.",
            "Could you let us know if the issue persists?",
        ),
        (
            "We're waiting on the HAR file before we can continue. Could you send it when you can?",
            "Please let us know if the workaround helped so we can close this out.",
        ),
        (
            "We need the request IDs from your side to correlate with our traces. Could you send them?",
        ),
        ("I'd love to hear whether things have improved for your team.",),
    ),
    "escalation_ack": (
        (
            "I understand this is urgent and I've flagged it as a priority.",
            "I've escalated your ticket and raised its priority.",
            "I hear you, and I've escalated this internally.",
        ),
        (
            "Your case has been escalated and our senior specialists are on it.",
            "I've raised this with the team lead and it's now top priority.",
        ),
        (
            "This is now a P1 on our side and an engineer is assigned full time.",
            "We've paged the on-call engineer and are treating this as a high-severity issue.",
        ),
        (
            "I've been made aware of your escalation and I'm personally overseeing this.",
            "Your escalation reached me directly; I'll coordinate with engineering and update you daily.",
        ),
    ),
}
_AGENT_EXTRA = (
    (
        "Let me know if you have any questions.",
        "We appreciate your patience.",
        "I'll keep you posted.",
        "Please don't hesitate to reply if anything else comes up.",
        "",
    ),
    ("I'll follow up once I hear back.", "I'll keep you updated on progress.", ""),
    (
        "We'll keep this ticket updated.",
        "Thanks for bearing with us.",
        "Ping us here if you see anything new in the meantime.",
        "",
    ),
    (
        "You can reach me directly at any time.",
        "I'll schedule a follow-up call with your team.",
        "",
    ),
)

_NOTE_TEMPLATES = {
    "handoff": (
        "Handoff to {team}: cust reports {t} {pred}. Repro steps and screenshots in thread.",
        "Passing to {team}. Basic troubleshooting done (cache, re-login), no change.",
        "HO -> {team}. {Cat} issue on {a}, customer on {ver}. Needs specialist review.",
        "Reassigning to {team} queue, outside T{tier} scope.",
        "Handing off to {team}. Customer tone: getting impatient. Please prioritise reply.",
    ),
    "investigation": (
        "Checked logs for {req}: seeing {err}. Looks related to {a}.",
        "Repro'd on staging with {ver}. Issue isolated to {a}.",
        "Could not reproduce yet. Asked cust for HAR + timestamps.",
        "Grafana shows elevated {http}s on {a} {w}.",
        "Account config looks normal. Suspect upstream issue in {a}.",
        "Pulled traces for {req}; latency spike in the {a} backend.",
    ),
    "bounceback": (
        "Bouncing back to T1: not a defect in {a}, config on customer side.",
        "Returning ticket: missing repro info. Please collect HAR and request IDs first.",
        "Sending back to {team}: wrong queue, this is a {cat} question.",
        "Bounceback: works as designed. Please share docs link with cust.",
        "Not ours - routing back to {team} for triage.",
    ),
    "escalation": (
        "Escalating to eng: affects {n} users, possible regression in {ver}.",
        "Raising severity to P{sev}. Customer is high ARR and impact is growing.",
        "Escalated to {team} lead. Multiple follow-ups with no resolution.",
        "ESCALATION: failure in {a} blocking customer's core workflow. Bug filed ENG-{eng}.",
        "Escalating per T{tier} review: needs engineering fix, no viable workaround.",
    ),
    "outage_link": (
        "Linked to incident INC-{inc}. Customer affected by degraded {a}.",
        "Part of ongoing incident INC-{inc}; send status page link and updates.",
        "Outage related: INC-{inc}. Tag and hold for incident comms.",
        "Same symptoms as INC-{inc} ({a}). Linking ticket.",
    ),
}
_CAT_LABEL = {
    "billing": "billing",
    "technical": "technical",
    "contract": "contract",
    "security": "security",
    "howto": "how-to",
}

_SUBJECTS = {
    "technical": (
        "{A} not working",
        "Issue with {t}",
        "{A} errors",
        "Problem with {t}",
        "{T} {pred}",
        "Errors in {a}",
        "{A} failing {w}",
        "Help: {t} {pred}",
    ),
    "billing": (
        "Question about our invoice",
        "Billing question",
        "Invoice discrepancy",
        "{A}: seat count on invoice",
        "Incorrect amount on latest bill",
        "Billing issue - {a}",
        "Invoice {inv}",
    ),
    "contract": (
        "Contract update request",
        "Question about our agreement",
        "Seat change on our contract",
        "Renewal terms question",
        "Order form request",
        "Updating our plan",
    ),
    "security": (
        "Security question - {a}",
        "SSO configuration",
        "Security review request",
        "Access control question",
        "{A} security settings",
        "Compliance documents",
    ),
    "howto": (
        "How do I use {a}?",
        "Question about {t}",
        "How-to: {a}",
        "{A} setup help",
        "Quick question on {a}",
        "Where is the setting for {a}?",
    ),
}
_OUTAGE_SUBJECTS = (
    "URGENT: {A} down",
    "{T} unavailable for all users",
    "Nothing is loading",
    "Service not reachable",
    "URGENT - {a} unavailable",
    "Outage? {t} not loading",
    "P1: {a} down for everyone",
    "Cannot access the platform",
)

_SENT_END = re.compile(r"\. ")


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _check(value: object, allowed: tuple, what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}")


class TextBank:
    """Phrase tables and the composer for every message the simulator writes.

    Methods take the caller's `random.Random`; they never touch the global random state.
    Frustration is clamped to [0, 1] (NaN is refused). Customer methods accept an optional
    keyword `channel` in CHANNELS: chat is shorter with more typos and lower case, phone
    reads like a transcript, web forms skip greetings, email (the default) has greeting and
    sign-off.
    """

    def __init__(self) -> None:
        self._things = _THINGS
        self._labels = _AREA_LABEL
        # Per-area technical sentences, pre-built as (template, plural) rows.
        self._area_symptoms = _AREA_SYMPTOMS
        self._howto = {
            area: tuple(frame.replace("{task}", task) for frame in _HOWTO_FRAMES for task in tasks)
            for area, tasks in _HOWTO_TASKS.items()
        }
        self._teams = {
            (c, a): _TEAMS[c] + _AREA_TEAMS[a] for c in ISSUE_CATEGORIES for a in PRODUCT_AREAS
        }
        self._mention_set = frozenset(MENTIONS)
        self._agent_kinds = frozenset(AGENT_KINDS)
        self._note_kinds = frozenset(NOTE_KINDS)

    # -- small helpers -------------------------------------------------------------------------

    @staticmethod
    def _band(rng: random.Random, f: float) -> int:
        # Bands sit where most tickets live (frustration 0.1-0.6), so wording tracks the state.
        t = f + (rng.random() - 0.5) * 0.12
        return 0 if t < 0.2 else 1 if t < 0.4 else 2 if t < 0.62 else 3

    @staticmethod
    def _frust(f: float) -> float:
        if f != f:
            raise ValueError(f"frustration must be a number in [0, 1], got {f!r}")
        return 0.0 if f < 0.0 else 1.0 if f > 1.0 else float(f)

    def _validate(
        self,
        category: str | None,
        product_area: str | None,
        mentions: tuple[str, ...] = (),
        channel: str | None = None,
    ) -> None:
        if category is not None and category not in _CAT_LABEL:
            _check(category, ISSUE_CATEGORIES, "category")
        if product_area is not None and product_area not in _THINGS:
            _check(product_area, PRODUCT_AREAS, "product_area")
        for m in mentions:
            if m not in self._mention_set:
                _check(m, MENTIONS, "mention")
        if channel is not None and channel not in CHANNELS:
            _check(channel, CHANNELS, "channel")

    def _thing(self, rng: random.Random, area: str) -> tuple[str, bool]:
        return rng.choice(self._things[area])

    @staticmethod
    def _num(rng: random.Random, lo: int, hi: int) -> int:
        return lo + int(rng.random() * (hi - lo + 1))

    def _artifact(self, rng: random.Random, category: str) -> str:
        kind = rng.choice(_CATEGORY_ARTIFACTS[category])
        frame = rng.choice(_ARTIFACT_FRAMES[kind])
        r = rng.random
        if kind == "err":
            x = f"{rng.choice(('ERR', 'E', 'ERROR', 'SYNC', 'AUTH'))}-{1000 + int(r() * 9000)}"
        elif kind == "http":
            x = rng.choice(_HTTP)
        elif kind == "inv":
            x = f"INV-{2023 + int(r() * 3)}-{int(r() * 100000):05d}"
        elif kind == "ver":
            x = f"v{1 + int(r() * 5)}.{int(r() * 20)}.{int(r() * 10)}"
        elif kind == "req":
            x = f"req_{int(r() * 0xFFFFFFFFFFFF):012x}"
        elif kind == "env":
            x = rng.choice(_ENVS)
        elif kind == "quote":
            x = f"Q-{2023 + int(r() * 3)}-{int(r() * 10000):04d}"
        else:
            return frame
        return frame.replace("{x}", x)

    def _mention_parts(
        self, rng: random.Random, mentions: tuple[str, ...], band: int
    ) -> list[str]:
        out = []
        for m in mentions:
            polite, blunt = _MENTION_TEXT[m]
            # Mostly the register of the band, sometimes the other one: people vary.
            pool = blunt if (band >= 2) != (rng.random() < 0.15) else polite
            s = rng.choice(pool)
            if "{inv}" in s:
                s = s.replace(
                    "{inv}", f"INV-{2023 + int(rng.random() * 3)}-{int(rng.random() * 100000):05d}"
                )
            out.append(s)
        return out

    def _fill(
        self, rng: random.Random, s: str, thing: tuple[str, bool], area: str, band: int = 0
    ) -> str:
        if "{" not in s:
            return s
        t, plural = thing
        if "{pred" in s:
            preds = _TECH_PRED_ANGRY if band >= 3 and rng.random() < 0.5 else _TECH_PRED
            p = rng.choice(preds)[plural]
            s = s.replace("{pred}", p).replace("{pred2}", rng.choice(_TECH_PRED)[0])
        if "{T}" in s:
            s = s.replace("{T}", _cap(t) if band < 3 or rng.random() < 0.7 else t.upper())
        s = s.replace("{t}", t)
        if "{a}" in s or "{A}" in s:
            a = rng.choice(self._labels[area])
            s = s.replace("{a}", a).replace("{A}", _cap(a))
        if "{an}" in s or "{AN}" in s:
            a = rng.choice(_AREA_NP[area])
            s = s.replace("{an}", a).replace("{AN}", _cap(a))
        if "{w" in s:
            s = s.replace("{w}", rng.choice(_WHEN)).replace("{w0}", rng.choice(_RETURN_WHEN))
        if "{n}" in s or "{m}" in s:
            m = self._num(rng, 8, 400)
            s = s.replace("{n}", str(self._num(rng, 2, max(3, m // 2)))).replace("{m}", str(m))
        if "{day}" in s:
            s = s.replace("{day}", rng.choice(_DAYS))
        return s

    def _problem(
        self,
        rng: random.Random,
        category: str,
        area: str,
        band: int,
        outage: bool,
        thing: tuple[str, bool],
    ) -> str:
        if outage:
            t, plural = thing
            pred = rng.choice(_OUTAGE_PRED)[plural]
            if rng.random() < 0.5:
                return f"{_cap(t)} {pred} {rng.choice(_WHEN)}."
            return f"{_cap(t)} {pred}."
        if category == "technical" or (category == "howto" and rng.random() < 0.15):
            if rng.random() < 0.35:
                return self._fill(rng, rng.choice(self._area_symptoms[area]), thing, area, band)
            t, plural = thing
            preds = _TECH_PRED_ANGRY if band >= 3 and rng.random() < 0.5 else _TECH_PRED
            pred = rng.choice(preds)[plural]
            if rng.random() < 0.6:
                return f"{_cap(t)} {pred} {rng.choice(_WHEN)}."
            return f"{_cap(t)} {pred}."
        if category == "howto":
            return rng.choice(self._howto[area])
        if category == "security":
            return self._fill(rng, rng.choice(_SECURITY_PROBLEMS), thing, area, band)
        # Money and contract wording names the billing screens whatever area the ticket has.
        pool = _BILLING_PROBLEMS if category == "billing" else _CONTRACT_PROBLEMS
        s = rng.choice(pool)
        if "{t}" in s:
            thing = rng.choice(_THINGS["billing_portal"])
        return self._fill(rng, s, thing, area, band)

    def _noise(self, rng: random.Random, text: str, f: float, channel: str, band: int) -> str:
        """Typos, case and punctuation damage. Probabilities grow with frustration and chat."""
        r = rng.random
        chat = channel == "chat"
        p = 0.04 + 0.4 * f + (0.3 if chat else 0.0)
        if r() < p:
            # Only lower-case pairs: codes and acronyms get pasted, not typed.
            n = 1 + int(r() * (1 + 3 * f + (2 if chat else 0)))
            for _ in range(n):
                L = len(text)
                if L < 6:
                    break
                i = int(r() * (L - 1))
                a, b = text[i], text[i + 1]
                if not (a.islower() and b.islower()):
                    continue
                op = r()
                if op < 0.45:
                    text = text[:i] + b + a + text[i + 2 :]
                elif op < 0.75:
                    text = text[:i] + text[i + 1 :]
                else:
                    text = text[:i] + a + text[i:]
        if r() < (0.35 if chat else 0.05) + 0.1 * f:
            text = text.lower()
        if r() < (0.3 if chat else 0.03) + 0.15 * f:
            text = text.replace(". ", " ").rstrip(".")
        if r() < (0.25 if chat else 0.04) + 0.15 * f:
            text = text.replace("'", "")
        return text

    def _anger(self, rng: random.Random, text: str, band: int, f: float) -> str:
        if band < 2:
            return text
        r = rng.random
        if band == 3:
            if r() < 0.6:
                text = _SENT_END.sub("! ", text, count=1 + int(r() * 3))
            if r() < 0.5:
                text = text.rstrip(".!") + rng.choice(("!!!", "!!", "!", "!?!", "!!!!"))
            if r() < 0.3 and f > 0.9:
                text = text.upper()
            elif r() < 0.4:
                words = text.split(" ")
                k = int(r() * len(words))
                if len(words[k]) > 2:
                    words[k] = words[k].upper()
                    text = " ".join(words)
        elif r() < 0.3:
            text = _SENT_END.sub("! ", text, count=1)
        return text

    def _wrap(
        self,
        rng: random.Random,
        body: list[str],
        protected: list[str],
        tail: list[str],
        band: int,
        f: float,
        channel: str,
        greet: bool = True,
        sign: bool = True,
    ) -> str:
        """Assemble greeting + body + protected cues + tail, with channel-specific framing."""
        r = rng.random
        text = " ".join(s for s in body if s)
        text = self._noise(rng, text, f, channel, band)
        if protected:
            text = text + " " + " ".join(protected)
        if tail:
            text = text + " " + " ".join(s for s in tail if s)
        text = self._anger(rng, text.strip(), band, f)
        if channel == "email":
            g = rng.choice(_GREETINGS[band]) if greet and r() < 0.85 else ""
            s = rng.choice(_SIGNOFFS[band]) if sign and r() < 0.7 else ""
            if s:
                text = text + "\n\n" + s + ("\n" + rng.choice(_NAMES) if r() < 0.7 else "")
            if g:
                text = g + "\n\n" + text
        elif channel == "phone":
            if r() < 0.6:
                filler = rng.choice(_PHONE_FILLERS)
                lower = text[1:2].islower() and not filler.endswith(". ")
                text = filler + (text[:1].lower() if lower else text[:1]) + text[1:]
        elif channel == "web":
            g = rng.choice(_GREETINGS[band]) if greet and r() < 0.3 else ""
            if g:
                text = g + "\n" + text
        elif greet and r() < 0.2:
            text = rng.choice(("hi ", "hello, ", "hey ", "hi there, ")) + text
        return text

    # -- customer side -------------------------------------------------------------------------

    def subject(self, rng: random.Random, category: str, product_area: str, outage: bool) -> str:
        """Ticket subject line; tone-neutral because customers rarely rage in subjects."""
        self._validate(category, product_area)
        thing = self._thing(rng, product_area)
        pool = _OUTAGE_SUBJECTS if outage else _SUBJECTS[category]
        s = self._fill(rng, rng.choice(pool), thing, product_area)
        if "{inv}" in s:
            s = s.replace(
                "{inv}", f"INV-{2023 + int(rng.random() * 3)}-{int(rng.random() * 100000):05d}"
            )
        if rng.random() < 0.1:
            s = rng.choice(("Re: ", "Fwd: ", "[Support] ", "Urgent: ")) + s
        return _cap(s)

    def opening(
        self,
        rng: random.Random,
        category: str,
        product_area: str,
        frustration: float,
        outage: bool,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """First customer message of a ticket, describing the problem."""
        self._validate(category, product_area, mentions, channel)
        f = self._frust(frustration)
        band = self._band(rng, f)
        r = rng.random
        thing = self._thing(rng, product_area)
        cues = self._mention_parts(rng, mentions, band)
        # One-liners: chat and angry customers write less.
        short_p = (0.45 if channel == "chat" else 0.08) + 0.15 * (band >= 3)
        if r() < short_p:
            if channel == "chat" or r() < 0.5:
                line = self._fill(rng, rng.choice(_CHAT_SHORT[band]), thing, product_area, band)
                if outage and r() < 0.5:
                    line = (
                        line
                        + " "
                        + rng.choice(("for everyone", "for all users", "whole team affected"))
                    )
            else:
                line = self._problem(rng, category, product_area, band, outage, thing)
            return self._wrap(rng, [line], cues, [], band, f, channel, greet=False, sign=False)
        body: list[str] = []
        if r() < 0.55:
            body.append(self._fill(rng, rng.choice(_OPENERS[band]), thing, product_area, band))
        body.append(self._problem(rng, category, product_area, band, outage, thing))
        if r() < 0.25 and category in ("technical", "security"):
            body.append(
                self._fill(
                    rng, rng.choice(self._area_symptoms[product_area]), thing, product_area, band
                )
            )
        if r() >= 0.4:
            art = self._artifact(rng, category)
            body.append(art)
            if r() < 0.3:
                art2 = self._artifact(rng, category)
                if art2[:6] != art[:6]:
                    body.append(art2)
        if r() < 0.3 + 0.4 * f or outage:
            body.append(self._fill(rng, rng.choice(_IMPACTS[band]), thing, product_area, band))
        tail = [rng.choice(_REQUESTS[band])] if r() < 0.75 else []
        return self._wrap(rng, body, cues, tail, band, f, channel)

    def customer_reply(
        self,
        rng: random.Random,
        category: str,
        product_area: str,
        frustration: float,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """Customer answers an agent's question or reports how a suggestion went."""
        self._validate(category, product_area, mentions, channel)
        f = self._frust(frustration)
        band = self._band(rng, f)
        r = rng.random
        thing = self._thing(rng, product_area)
        cues = self._mention_parts(rng, mentions, band)
        body: list[str] = []
        if r() < 0.6:
            body.append(rng.choice(_REPLY_LEADS[band]))
        mode = r()
        if mode < 0.45:
            for _ in range(1 + (r() < 0.35)):
                s = rng.choice(_REPLY_ANSWERS)
                if "{ver}" in s:
                    s = s.replace("{ver}", f"v{1 + int(r() * 5)}.{int(r() * 20)}.{int(r() * 10)}")
                elif "{env}" in s:
                    s = s.replace("{env}", rng.choice(_ENVS))
                elif "{req}" in s:
                    s = s.replace("{req}", f"req_{int(r() * 0xFFFFFFFFFFFF):012x}")
                elif "{err}" in s:
                    s = s.replace("{err}", f"ERR-{1000 + int(r() * 9000)}")
                elif "{time}" in s:
                    s = s.replace("{time}", f"{int(r() * 24):02d}:{int(r() * 60):02d}")
                elif "{ws}" in s:
                    s = s.replace("{ws}", str(10000 + int(r() * 90000)))
                body.append(self._fill(rng, s, thing, product_area, band))
        else:
            body.append(
                self._fill(rng, rng.choice(_REPLY_OUTCOMES[band]), thing, product_area, band)
            )
            if mode > 0.8:
                body.append(self._artifact(rng, category))
        if r() < 0.15 + 0.35 * f:
            body.append(self._fill(rng, rng.choice(_IMPACTS[band]), thing, product_area, band))
        tail = [rng.choice(_REQUESTS[band])] if r() < 0.4 + 0.3 * f else []
        return self._wrap(rng, body, cues, tail, band, f, channel, greet=r() < 0.4)

    def follow_up(
        self,
        rng: random.Random,
        frustration: float,
        n_unanswered: int,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """Chaser on an unanswered ticket; wording hardens with n_unanswered (1, 2, 3+)."""
        self._validate(None, None, mentions, channel)
        f = self._frust(frustration)
        n = max(1, int(n_unanswered))
        level = 3 if n >= 3 else n
        # Being ignored pushes the tone up even for a patient customer.
        band = self._band(rng, min(1.0, f + 0.08 * (level - 1)))
        r = rng.random
        cues = self._mention_parts(rng, mentions, band)
        core = rng.choice(_FOLLOW_CORE[level])
        if level == 3:
            core = (
                core.replace("{ord}", _ORD[n] if n < len(_ORD) else f"{n}th")
                .replace("{N}", str(n))
                .replace("{n}", str(n))
            )
        body = [core]
        if r() < 0.35:
            body.insert(
                0,
                rng.choice(
                    (
                        "Re: my ticket.",
                        "Hi again.",
                        "Me again.",
                        "Regarding my earlier message:",
                        "About the issue I reported:",
                        "Ticket follow-up.",
                        "",
                    )
                ),
            )
        if r() < 0.3 + 0.3 * f:
            body.append(
                rng.choice(_IMPACTS[band])
                .replace("{n}", str(self._num(rng, 3, 60)))
                .replace("{day}", rng.choice(_DAYS))
            )
        tail = [rng.choice(_FOLLOW_TAIL[band])]
        if r() < 0.25 * level * f:
            tail.append(rng.choice(_REQUESTS[band]))
        return self._wrap(rng, body, cues, tail, band, f, channel, greet=r() < 0.5, sign=r() < 0.5)

    def reopen(
        self,
        rng: random.Random,
        category: str,
        product_area: str,
        frustration: float,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """Customer reopens a ticket that was marked resolved: the problem is back."""
        self._validate(category, product_area, mentions, channel)
        f = self._frust(frustration)
        band = self._band(rng, min(1.0, f + 0.05))
        r = rng.random
        thing = self._thing(rng, product_area)
        cues = self._mention_parts(rng, mentions, band)
        body = [self._fill(rng, rng.choice(_REOPEN_CORE), thing, product_area, band)]
        if r() < 0.5:
            body.append(rng.choice(_REOPEN_TONE[band]))
        if r() < 0.3:
            body.append(self._artifact(rng, category))
        if r() < 0.2 + 0.3 * f:
            body.append(self._fill(rng, rng.choice(_IMPACTS[band]), thing, product_area, band))
        tail = [rng.choice(_REQUESTS[band])] if r() < 0.5 else []
        return self._wrap(rng, body, cues, tail, band, f, channel)

    def closing(
        self, rng: random.Random, frustration: float, resolved: bool, *, channel: str = "email"
    ) -> str:
        """Customer's last word: thanks, grudging acceptance, or giving up."""
        self._validate(None, None, (), channel)
        f = self._frust(frustration)
        band = self._band(rng, f)
        text = rng.choice(_CLOSING[bool(resolved)][band])
        if rng.random() < 0.25 and band < 2:
            text += " " + rng.choice(
                (
                    "Have a great day!",
                    "Appreciate all your help.",
                    "Thanks again.",
                    "Have a good weekend.",
                    "Cheers.",
                )
            )
        return self._wrap(
            rng, [text], [], [], band, f, channel, greet=False, sign=rng.random() < 0.4
        )

    # -- agent side ----------------------------------------------------------------------------

    def _agent_fill(self, rng: random.Random, s: str, category: str, area: str) -> str:
        if "{" not in s:
            return s
        r = rng.random
        if "{team}" in s:
            s = s.replace("{team}", rng.choice(self._teams[(category, area)]))
        if "{t}" in s or "{pred}" in s or "{T}" in s:
            s = self._fill(rng, s, self._thing(rng, area), area)
        if "{a}" in s:
            s = s.replace("{a}", rng.choice(self._labels[area]))
        if "{an}" in s:
            s = s.replace("{an}", rng.choice(_AREA_NP[area]))
        if "{ver}" in s:
            s = s.replace("{ver}", f"v{1 + int(r() * 5)}.{int(r() * 20)}.{int(r() * 10)}")
        if "{eta}" in s:
            s = s.replace(
                "{eta}",
                rng.choice(
                    (
                        "today",
                        "tomorrow morning",
                        "within 24 hours",
                        "end of day",
                        "this evening UTC",
                        "in the next release",
                        "Thursday",
                    )
                ),
            )
        if "{http}" in s:
            s = s.replace("{http}", rng.choice(_HTTP))
        if "{err}" in s:
            s = s.replace("{err}", f"ERR-{1000 + int(r() * 9000)}")
        if "{req}" in s:
            s = s.replace("{req}", f"req_{int(r() * 0xFFFFFFFFFFFF):012x}")
        if "{inc}" in s:
            s = s.replace("{inc}", str(1000 + int(r() * 9000)))
        if "{eng}" in s:
            s = s.replace("{eng}", str(10000 + int(r() * 90000)))
        if "{sev}" in s:
            s = s.replace("{sev}", str(1 + int(r() * 2)))
        if "{w}" in s:
            s = s.replace("{w}", rng.choice(_WHEN))
        if "{n}" in s:
            s = s.replace("{n}", str(5 + int(r() * 500)))
        return s

    def agent_message(
        self, rng: random.Random, kind: str, category: str, product_area: str, tier: int
    ) -> str:
        """Support agent's public reply. Tier 1 frontline, 2 specialist, 3 engineering, 4 exec/CS."""
        if kind not in self._agent_kinds:
            _check(kind, AGENT_KINDS, "agent message kind")
        self._validate(category, product_area)
        if tier not in AGENT_TIERS:
            _check(tier, AGENT_TIERS, "tier")
        r = rng.random
        pools = _AGENT_BODY[kind]
        # Higher tiers sometimes borrow the plainer wording of the tier below.
        ti = tier - 1 if r() < 0.75 or tier == 1 else tier - 2
        body = self._agent_fill(rng, rng.choice(pools[ti]), category, product_area)
        parts = []
        if kind not in ("apology", "ack") and r() < 0.2:
            parts.append(
                self._agent_fill(
                    rng, rng.choice(_AGENT_BODY["apology"][ti]), category, product_area
                )
            )
        parts.append(body)
        extra = rng.choice(_AGENT_EXTRA[ti])
        if extra:
            parts.append(extra)
        text = " ".join(parts)
        g = rng.choice(_AGENT_GREET)
        if g:
            text = g.replace("{name}", rng.choice(_NAMES)) + "\n\n" + text
        if r() < 0.6:
            text += "\n\n" + rng.choice(_AGENT_SIGN) + "\n" + rng.choice(_AGENT_NAMES)
        return text

    def internal_note(
        self, rng: random.Random, kind: str, category: str, product_area: str, tier: int
    ) -> str:
        """Private note between support staff (handoffs, findings, incident links)."""
        if kind not in self._note_kinds:
            _check(kind, NOTE_KINDS, "internal note kind")
        self._validate(category, product_area)
        if tier not in AGENT_TIERS:
            _check(tier, AGENT_TIERS, "tier")
        s = rng.choice(_NOTE_TEMPLATES[kind])
        s = s.replace("{tier}", str(tier)).replace("{Cat}", _cap(_CAT_LABEL[category]))
        s = s.replace("{cat}", _CAT_LABEL[category])
        return self._agent_fill(rng, s, category, product_area)
