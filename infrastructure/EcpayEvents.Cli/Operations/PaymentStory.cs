using System.Globalization;
using System.Text.Json.Nodes;
using EcpayEvents.Cli.Commands;
using EcpayEvents.Cli.Output;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Settlement;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Cli.Operations;

/// <summary>
/// `payment show`: everything known about one payment as one timeline, oldest first, and a verdict — what
/// happened, in one line, and what an operator should do next. <see cref="Problem"/> is whether it needs one.
/// </summary>
public sealed record PaymentStory(PaymentRecord Payment, IReadOnlyList<PaymentStory.Entry> Timeline, string Verdict, string Next, bool Problem)
{
    /// <summary>One thing that happened: when, where it is recorded (db, ledger, ecpay, timer), and what.</summary>
    public sealed record Entry(DateTimeOffset At, string Source, string What);

    /// <param name="timers">The Step Functions executions, or null when they could not be asked (<paramref name="timersUnknown"/> says why).</param>
    /// <param name="ecpayNow">ECPay's answer to a QueryTradeInfo asked now (--ask-ecpay), if it was asked.</param>
    /// <param name="deadLetters">Its messages in the payment-results dead-letter queue, or null when the queue could not be read (<paramref name="deadLettersUnknown"/> says why).</param>
    public static PaymentStory Tell(PaymentRecord p, PaymentTimerHistory? timers, string? timersUnknown, QueryTradeInfoResult? ecpayNow, DateTimeOffset now,
        IReadOnlyList<DeadLetters.Letter>? deadLetters = null, string? deadLettersUnknown = null)
    {
        var timeline = new List<Entry>
        {
            new(p.CreatedAt, "db", p.Type == "deposit"
                ? $"created: deposit of {p.Amount} TWD by {p.PaymentMethod ?? "?"} for user {p.UserId}, transaction {p.Id}{(p.ExpiresAt is { } e ? $", payable until {Times.Utc(e)}" : "")}"
                : $"created: withdrawal of {p.Amount} TWD for user {p.UserId}, transaction {p.Id}"),
        };
        if (p.CheckoutStartedAt is { } served) timeline.Add(new(served, "db", "checkout form served: the browser was sent to ECPay"));
        foreach (var ev in p.Events) timeline.Add(new(ev.ReceivedAt, "ecpay", Describe(ev)));
        if (p.Ledger is { } credit) timeline.Add(new(credit.At, "ledger", $"ledger entry {credit.Id}: {(credit.Amount > 0 ? "+" : "")}{credit.Amount} TWD to user {p.UserId}"));
        if (p.ConfirmedAt is { } confirmed) timeline.Add(new(confirmed, "db", "credit confirmed with ECPay (QueryTradeInfo: paid, same amount and TradeNo)"));
        if (p.ReviewReason is not null) timeline.Add(new(p.UpdatedAt, "review", $"flagged for an operator: {p.ReviewReason}"));
        if (p.ReviewedAt is { } reviewed) timeline.Add(new(reviewed, "review", $"review resolved: {p.ReviewNote}"));
        foreach (var execution in timers?.Executions ?? [])
            timeline.AddRange(TimerEntries(execution));
        if (timersUnknown is not null) timeline.Add(new(now, "timer", $"timeout execution not known: {timersUnknown}"));
        if (ecpayNow is not null) timeline.Add(new(now, "ecpay", $"QueryTradeInfo now: {DescribeAnswer(ecpayNow)}"));
        foreach (var letter in deadLetters ?? [])
            timeline.Add(new(letter.SentAt, "dlq", $"{letter.Source ?? "a"} result in the dead-letter queue, not applied: message {letter.MessageId}, received {letter.ReceiveCount} time(s)"));
        if (deadLettersUnknown is not null) timeline.Add(new(now, "dlq", $"dead-letter queue not read: {deadLettersUnknown}"));
        timeline.Sort((a, b) => a.At.CompareTo(b.At));

        var (verdict, next, problem) = deadLetters is { Count: > 0 } letters && p.Status != "completed"
            // Settlement gave up on a result for it: whatever else is known, that result is not applied yet.
            ? ($"{letters.Count} result(s) for it in the dead-letter queue, not applied; the transaction is {p.Status}",
               $"find the cause in Settlement's logs, then: ecpay-events dlq redrive --id {letters[0].MessageId} (settled once, whatever happened before)", true)
            : Judge(p, timers, ecpayNow, now);
        return new PaymentStory(p, timeline, verdict, next, problem);
    }

    private static (string Verdict, string Next, bool Problem) Judge(PaymentRecord p, PaymentTimerHistory? timers, QueryTradeInfoResult? ecpayNow, DateTimeOffset now)
    {
        var mtn = p.MerchantTradeNo ?? p.Id.ToString(CultureInfo.InvariantCulture);
        var reviewNext = $"check it in ECPay's back office, then: ecpay-events db review resolve --transaction {p.Id} --note \"what was done\"";
        if (p.Type != "deposit")
            return ($"withdrawal of {p.Amount} TWD, {p.Status}", "nothing to do", false);
        var ecpayPaid = ecpayNow is QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Paid } answered ? answered.Trade : null;
        var simulated = p.Events.Any(e => e.Outcome == SettlementOutcome.Simulated);
        var rejected = p.Events.Count(e => e.Outcome == SettlementOutcome.Rejected);
        var rejectedNote = rejected > 0 ? $"; {rejected} rejected post(s)" : "";
        var latest = timers?.Latest?.Description;

        if (p.Status == "completed" && p.Ledger is { } credit)
        {
            if (p.IsReviewOpen)
            {
                var late = p.ReviewReason!.Contains("expir", StringComparison.OrdinalIgnoreCase) || p.ReviewReason.Contains("fail", StringComparison.OrdinalIgnoreCase);
                return (late
                    ? $"paid after expiry: credited {credit.Amount} TWD at {Times.Utc(credit.At)}, flagged ({p.ReviewReason}){rejectedNote}"
                    : $"credited {credit.Amount} TWD at {Times.Utc(credit.At)}, flagged: {p.ReviewReason}{rejectedNote}", reviewNext, true);
            }
            var confirmation = p.ConfirmedAt is { } c ? $", confirmed by ECPay at {Times.Utc(c)}" : latest?.Status == ExecutionStatus.Running ? ", confirmation with ECPay pending" : "";
            return ($"paid and credited {credit.Amount} TWD at {Times.Utc(credit.At)}{confirmation}{rejectedNote}", "nothing to do: the user has the money", false);
        }
        if (ecpayPaid is not null)
            return ($"ECPay says paid ({ecpayPaid.TradeAmt} TWD, TradeNo {ecpayPaid.TradeNo}) but nothing was credited: we have it {p.Status}{rejectedNote}",
                $"run reconcile: ecpay-events reconcile --from {p.CreatedAt.UtcDateTime:yyyy-MM-dd} --to {p.CreatedAt.UtcDateTime:yyyy-MM-dd} --apply", true);
        if (simulated)
            return ($"simulated payment (SimulatePaid=1, ECPay's back-office button): never credited; {p.Status}{rejectedNote}",
                p.IsReviewOpen ? reviewNext : "nothing to do: no money moved", p.IsReviewOpen);
        if (p.IsReviewOpen)
            return ($"{p.Status}, not credited, flagged: {p.ReviewReason}{rejectedNote}", reviewNext, true);
        if (latest is { Status: not ExecutionStatus.Running and not ExecutionStatus.Succeeded } failedTimer && p.Status == "pending")
            return ($"pending, and its timeout execution {failedTimer.Name} ended {ExecutionsCommand.Outcome(failedTimer)}{rejectedNote}",
                $"fix the cause (ecpay-events executions describe {failedTimer.Name}), then: ecpay-events timeouts rearm {mtn}", true);
        switch (p.Status)
        {
            case "pending" when p.ExpiresAt is { } until && until > now:
                var issued = p.VAccount is not null ? $" (ATM account {p.BankCode}-{p.VAccount} issued)" : p.PaymentNo is not null ? $" (payment code {p.PaymentNo} issued)" : "";
                return ($"pending: payable until {Times.Utc(until)}{issued}{rejectedNote}", "wait: nothing was paid yet; the timeout asks ECPay when it expires", false);
            case "pending":
                return (timers is not null && latest is null
                        ? $"pending past its expiry ({Times.Utc(p.ExpiresAt ?? p.CreatedAt)}) and no timeout execution{rejectedNote}"
                        : $"pending past its expiry ({Times.Utc(p.ExpiresAt ?? p.CreatedAt)}){rejectedNote}",
                    timers is not null && latest is null ? $"ecpay-events timeouts rearm {mtn}" : $"ecpay-events executions describe {mtn}; if it is not running: ecpay-events timeouts rearm {mtn}", true);
            case "expired":
                return ($"expired unpaid{rejectedNote}", ecpayNow is null
                    ? $"nothing to do; if the user shows a payment: ecpay-events payment show {mtn} --ask-ecpay"
                    : "nothing to do: ECPay has no payment for it either", false);
            case "failed":
                var why = p.Events.LastOrDefault(e => e.Outcome == SettlementOutcome.Failed) is { } f ? $": {f.Field("RtnMsg") ?? f.Reason}" : "";
                return ($"payment failed at ECPay{why}{rejectedNote}", "nothing to do: the user may try again with a new deposit", false);
            default:
                return ($"{p.Status}{rejectedNote}", "look at the timeline", true);
        }
    }

    private static string Describe(PaymentRecord.Event e)
    {
        var rtn = e.Field("RtnCode") is { } code ? $" RtnCode {code}{(e.Field("RtnMsg") is { } msg ? $" ({msg})" : "")}" : "";
        var status = e.Field("TradeStatus") is { } ts ? $" TradeStatus {ts}" : "";
        var amount = e.Field("TradeAmt") is { } amt ? $", {amt} TWD" : "";
        var tradeNo = e.Field("TradeNo") is { } t ? $", TradeNo {t}" : "";
        var simulated = e.Field("SimulatePaid") == "1" ? ", SimulatePaid=1" : "";
        var account = e.Field("vAccount") is { } v ? $", ATM {e.Field("BankCode")}-{v}" : e.Field("PaymentNo") is { } pn ? $", code {pn}" : "";
        var reason = e.Reason is { Length: > 0 } r ? $": {r}" : "";
        return $"{e.Source}{rtn}{status}{amount}{tradeNo}{simulated}{account} → {e.Outcome}{reason} (event {e.Id})";
    }

    private static IEnumerable<Entry> TimerEntries(PaymentTimerHistory.Execution execution)
    {
        var name = execution.Description.Name;
        foreach (var (e, state, detail) in ExecutionsCommand.Timeline(execution.Events))
        {
            var what = e.Type switch
            {
                "ExecutionStarted" => $"timeout execution {name} started",
                "WaitStateEntered" => $"{name}: {state} {detail}",
                "LambdaFunctionSucceeded" => $"{name}: Reconcile (QueryTradeInfo) answered {detail.Replace("answered ", "", StringComparison.Ordinal)}",
                "LambdaFunctionFailed" or "LambdaFunctionTimedOut" => $"{name}: Reconcile failed: {detail}",
                "ExecutionSucceeded" => $"timeout execution {name} ended: {ExecutionsCommand.Outcome(execution.Description)}",
                "ExecutionFailed" or "ExecutionTimedOut" or "ExecutionAborted" => $"timeout execution {name} ended {e.Type["Execution".Length..].ToUpperInvariant()}: {detail}",
                _ => null,
            };
            if (what is not null) yield return new Entry(e.Timestamp, "timer", what);
        }
    }

    public static string DescribeAnswer(QueryTradeInfoResult answer) => answer switch
    {
        QueryTradeInfoResult.Answered { Trade: var t } => $"TradeStatus {t.Code} ({t.Status}){(t.TradeAmt is { } a ? $", {a} TWD" : "")}{(t.TradeNo.Length > 0 ? $", TradeNo {t.TradeNo}" : "")}{(t.PaymentDate is { } d ? $", paid {Times.Utc(d)}" : "")}",
        QueryTradeInfoResult.Throttled th => $"refused (403: too many requests){(th.CoolDownUntil is { } until ? $"; not asking again until {Times.Utc(until)}" : "")}",
        QueryTradeInfoResult.EcpayError err => $"ECPay error {err.Code}: {err.Message}",
        var other => other.ToString(),
    };

    public JsonObject ToJson() => new()
    {
        ["transactionId"] = Payment.Id,
        ["merchantTradeNo"] = Payment.MerchantTradeNo,
        ["userId"] = Payment.UserId,
        ["type"] = Payment.Type,
        ["amount"] = Payment.Amount,
        ["status"] = Payment.Status,
        ["expiresAt"] = JsonOutput.Time(Payment.ExpiresAt),
        ["credited"] = Payment.Ledger is not null,
        ["reviewOpen"] = Payment.IsReviewOpen,
        ["timeline"] = new JsonArray([.. Timeline.Select(e => (JsonNode)new JsonObject { ["at"] = JsonOutput.Time(e.At), ["source"] = e.Source, ["what"] = e.What })]),
        ["verdict"] = Verdict,
        ["next"] = Next,
        ["problem"] = Problem,
    };
}
