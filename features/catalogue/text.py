"""Text features: customer messages read by the sentiment transformer and its intent heads."""

from __future__ import annotations

from features.catalogue.feature import Feature
from features.catalogue.wording import tone

FEATURES: tuple[Feature, ...] = (
    Feature(
        "customer_sentiment_last",
        "text",
        "float",
        "sentiment of the latest customer message, -1..1",
        formula=lambda x: x.state["sent_last"],
        words=lambda v, r: f"latest customer message reads {tone(v)} ({v:+.2f})",
        direction=-1,
        direction_reason="a more negative latest message means a less happy customer now",
        topic="sentiment",
    ),
    Feature(
        "customer_sentiment_mean",
        "text",
        "float",
        "mean sentiment of customer messages so far",
        formula=lambda x: x.state["sent_mean"],
        words=lambda v, r: f"customer messages read {tone(v)} on average",
        direction=-1,
        direction_reason="customers who read negative throughout are the ones who escalate",
        topic="sentiment",
    ),
    Feature(
        "customer_sentiment_min",
        "text",
        "float",
        "most negative customer message so far",
        formula=lambda x: x.state["sent_min"],
        words=lambda v, r: f"most negative customer message: {v:+.2f}",
        direction=-1,
        direction_reason="one very negative message is a warning a lead would not discount",
        topic="sentiment",
    ),
    Feature(
        "customer_sentiment_first",
        "text",
        "float",
        "sentiment of the first customer message",
        formula=lambda x: x.state["sent_first"],
        words=lambda v, r: f"first customer message read {tone(v)} ({v:+.2f})",
        direction=-1,
        direction_reason="a customer who opens angry starts closer to escalating",
        topic="sentiment",
    ),
    Feature(
        "customer_sentiment_drop",
        "text",
        "float",
        "first minus latest sentiment (>0: souring)",
        formula=lambda x: x.state["sent_first"] - x.state["sent_last"],
        words=lambda v, r: (
            f"customer sentiment has soured by {v:.2f} since the first message"
            if v > 0
            else f"customer sentiment has improved by {-v:.2f} since the first message"
        ),
        direction=1,
        direction_reason="a customer souring since the first message is losing patience",
        topic="sentiment",
    ),
    Feature(
        "customer_sentiment_trend_last3",
        "text",
        "float",
        "latest sentiment minus the mean of up to 3 customer messages before it",
        formula=lambda x: x.state["sent_trend3"],
        words=lambda v, r: (
            f"latest customer message reads worse than the ones before ({v:+.2f})"
            if v < 0
            else f"latest customer message reads better than the ones before ({v:+.2f})"
        ),
        direction=-1,
        direction_reason="a latest message worse than the ones before is a customer souring",
        topic="sentiment",
    ),
    Feature(
        "customer_negative_share",
        "text",
        "float",
        "share of customer messages read as negative",
        formula=lambda x: x.state["neg_share"],
        words=lambda v, r: f"{v:.0%} of customer messages read negative",
        direction=1,
        direction_reason="more of the conversation negative means a less happy customer",
        topic="sentiment",
    ),
    Feature(
        "customer_intent_legal",
        "text",
        "bool",
        "a legal threat has been made",
        formula=lambda x: x.flag("intent_legal"),
        words=lambda v, r: "customer has mentioned legal action" if v else "no legal threat",
        direction=1,
        direction_reason="a legal threat is the textbook escalation signal",
    ),
    Feature(
        "customer_intent_churn",
        "text",
        "bool",
        "cancellation or switching has been mentioned",
        formula=lambda x: x.flag("intent_churn"),
        words=lambda v, r: (
            "customer has mentioned cancelling or switching" if v else "no churn threat"
        ),
        direction=1,
        direction_reason="a customer talking of cancelling puts revenue at stake",
    ),
    Feature(
        "customer_intent_executive",
        "text",
        "bool",
        "the customer's own executives are involved",
        formula=lambda x: x.flag("intent_executive"),
        words=lambda v, r: (
            "customer has brought in their executives" if v else "no executives involved"
        ),
        direction=1,
        direction_reason="a customer's executives in the thread put the account's leadership "
        "on the problem",
    ),
    Feature(
        "customer_intent_escalation_request",
        "text",
        "bool",
        "the customer has asked for escalation, a manager or someone senior",
        formula=lambda x: x.flag("intent_escalation_request"),
        words=lambda v, r: (
            "customer has asked for escalation or a manager" if v else "no escalation request"
        ),
        direction=1,
        direction_reason="a customer asking for escalation or a manager is asking for an "
        "escalation",
    ),
    Feature(
        "customer_intent_competitor",
        "text",
        "bool",
        "a competitor or switching vendor has been named",
        formula=lambda x: x.flag("intent_competitor"),
        words=lambda v, r: (
            "customer has named a competitor or switching vendor" if v else "no competitor named"
        ),
        direction=1,
        direction_reason="a customer naming a competitor is weighing leaving",
    ),
    Feature(
        "customer_intent_renewal",
        "text",
        "bool",
        "the renewal decision has been put at stake",
        formula=lambda x: x.flag("intent_renewal"),
        words=lambda v, r: (
            "customer has put the renewal decision at stake" if v else "renewal not raised"
        ),
        direction=1,
        direction_reason="a customer tying the renewal to this ticket puts the contract at stake",
    ),
    Feature(
        "customer_intent_security",
        "text",
        "bool",
        "a security or breach concern was raised",
        formula=lambda x: x.flag("intent_security"),
        words=lambda v, r: (
            "customer has raised a security concern" if v else "no security concern"
        ),
        direction=1,
        direction_reason="a security concern is escalated by policy",
    ),
    Feature(
        "customer_intent_billing",
        "text",
        "bool",
        "a billing dispute was raised",
        formula=lambda x: x.flag("intent_billing"),
        words=lambda v, r: "customer disputes a charge" if v else "no billing dispute",
    ),
    Feature(
        "customer_intent_outage",
        "text",
        "bool",
        "an outage was reported",
        formula=lambda x: x.flag("intent_outage"),
        words=lambda v, r: "customer reports an outage" if v else "no outage reported",
    ),
    Feature(
        "customer_intent_followup_count",
        "text",
        "int",
        "messages read as 'any update?' chasers",
        formula=lambda x: x.count("intent_follow_up"),
        words=lambda v, r: f"customer has chased for updates {int(v)} times",
        direction=1,
        direction_reason="each 'any update?' chaser is a customer kept waiting",
        topic="chasing",
    ),
    Feature(
        "customer_intensity_last",
        "text",
        "float",
        "exclamation marks plus all-caps words in the latest customer message",
        formula=lambda x: x.state["intensity_last"],
        words=lambda v, r: f"latest message: {int(v)} exclamation marks/caps words",
        topic="intensity",
    ),
    Feature(
        "customer_intensity_max",
        "text",
        "float",
        "highest intensity of any customer message",
        formula=lambda x: x.state["intensity_max"],
        words=lambda v, r: f"strongest message: {int(v)} exclamation marks/caps words",
        topic="intensity",
    ),
    Feature(
        "customer_message_count",
        "text",
        "int",
        "customer messages so far",
        formula=lambda x: x.count("cust_count"),
        words=lambda v, r: f"{int(v)} customer messages so far",
    ),
)
