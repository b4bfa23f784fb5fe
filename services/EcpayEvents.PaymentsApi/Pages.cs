using System.Globalization;
using System.Net;
using System.Reflection;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Transactions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EcpayEvents.PaymentsApi;

/// <summary>The HTML this API serves: the demo web page (embedded wwwroot/index.html), the return page, error pages.</summary>
internal static class Pages
{
    private static readonly Lazy<string> index = new(() => Embedded("index.html"));
    private static readonly Lazy<string> sessionScript = new(() => Embedded("session.js"));

    public static string Index => index.Value;

    /// <summary>The pages' sign-in script (wwwroot/session.js).</summary>
    public static string SessionScript => sessionScript.Value;

    private static string Embedded(string name)
    {
        using var stream = typeof(Pages).Assembly.GetManifestResourceStream("EcpayEvents.PaymentsApi." + name)
            ?? throw new InvalidOperationException($"{name} is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    internal const string Style = """
        <style>
          body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
          .card{border:1px solid #ddd;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
          .status{font-size:1.5rem;font-weight:600}
          .completed{color:#137333}.failed,.expired{color:#b3261e}.pending{color:#8a6d00}
          dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1.5rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
        </style>
        """;

    public static ContentHttpResult Error(int status, string title, string detail) => TypedResults.Content($"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>{H(title)}</title>{Style}</head>
        <body><h1 data-testid="error-title">{H(title)}</h1><p data-testid="error-detail">{H(detail)}</p><p><a href="/">Back to your account</a></p></body></html>
        """, "text/html; charset=utf-8", null, status);

    /// <summary>
    /// A second visit to a checkout link: ECPay refuses an order number it has seen, so the form is not
    /// sent again. Says when it was sent, the deposit's current status, and what to do.
    /// </summary>
    public static string CheckoutAlreadyStarted(TransactionView deposit, DateTimeOffset startedAt)
    {
        var sent = TaiwanTime.Format(startedAt) + " (Taiwan time)";
        var advice = deposit.Status switch
        {
            "completed" => "It has been paid and your balance was credited.",
            "pending" => "If you did not finish paying, start a new deposit. If you did pay (or took an ATM or convenience-store number), it will show here once ECPay confirms it.",
            _ => $"It is {deposit.Status}. To pay, start a new deposit.",
        };
        return $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Already sent to ECPay</title>{{Style}}</head>
            <body>
            <h1 data-testid="error-title">This payment was already sent to ECPay</h1>
            <div class="card">
              <p data-testid="error-detail">Order {{H(deposit.MerchantTradeNo)}} ({{deposit.Amount.ToString(CultureInfo.InvariantCulture)}} TWD) was sent to ECPay at
                <span data-testid="checkout-started-at">{{H(sent)}}</span>. ECPay accepts an order only once, so this link cannot be used again.</p>
              <p>Status: <span data-testid="status" class="status {{H(deposit.Status)}}">{{H(deposit.Status)}}</span></p>
              <p data-testid="advice">{{H(advice)}}</p>
            </div>
            <p><a href="/" data-testid="back">Back to your account (start a new deposit)</a></p>
            </body></html>
            """;
    }

    /// <summary>What the return page says while ECPay reported a payment that the ledger shows as expired or failed.</summary>
    public const string PaidAfterExpiry = "ECPay reports this payment succeeded after the deposit had expired — it is being confirmed; a payment received late is still credited.";

    /// <summary>The return page's script: one constant (the CSP allows it by hash), reading the transaction from the body's data- attributes.</summary>
    public static readonly string OrderResultScript = """
        (function () {
          // The transaction comes in data- attributes: the script is the same on every page, so the CSP allows it by its hash.
          const data = document.body.dataset;
          const id = Number(data.transactionId), ecpayPaid = data.ecpayPaid === 'true';
          const lateWindowMs = 120000, started = Date.now();
          let etag = null, delay = 1000;
          const statusEl = document.getElementById('status'), balanceEl = document.getElementById('balance');
          const messageEl = document.querySelector('[data-testid=ecpay-message]');
          const final = { completed: 'Payment confirmed: your balance has been credited.', failed: 'The payment failed; nothing was charged to your balance.', expired: 'This deposit expired before it was paid.' };
          const lateMessage = LATE_MESSAGE;
          const lateGaveUp = 'ECPay reported this payment, but it is not confirmed yet. It will be credited when ECPay confirms it; check your transactions later.';
          async function balance() {
            const r = await EcpaySession.authFetch('/me', { headers: { Accept: 'application/json' } });
            if (r.ok) balanceEl.textContent = (await r.json()).balance;
          }
          function show(t) {
            statusEl.textContent = t.status;
            statusEl.className = 'status ' + t.status;
          }
          async function poll() {
            let status = null;
            try {
              const headers = { Accept: 'application/json' };
              if (etag) headers['If-None-Match'] = etag;
              const r = await EcpaySession.authFetch('/transactions/' + id, { headers, cache: 'no-store' });
              if (r.status === 200) {
                etag = r.headers.get('ETag');
                const t = await r.json();
                show(t);
                status = t.status;
              } else if (r.status === 304) {
                status = statusEl.textContent;
              } else if (r.status === 401 || r.status === 404) {
                // Not signed in here, or signed in as someone else: nothing to show.
                document.getElementById('signed-out').hidden = false;
                return;
              }
            } catch (e) { /* network hiccup: try again */ }
            if (status === 'completed' || ((status === 'failed' || status === 'expired') && !ecpayPaid)) {
              statusEl.dataset.final = 'true'; messageEl.textContent = final[status]; await balance(); return;
            }
            if ((status === 'failed' || status === 'expired') && ecpayPaid) {
              // Paid, but after the deposit expired (or failed): Settlement credits it when the result arrives.
              statusEl.dataset.late = 'true';
              if (Date.now() - started > lateWindowMs) { statusEl.dataset.final = 'true'; messageEl.textContent = lateGaveUp; await balance(); return; }
              messageEl.textContent = lateMessage;
            }
            setTimeout(poll, delay);
            delay = Math.min(Math.round(delay * 1.5), 10000);
          }
          balance();
          poll();
        })();
        """.Replace("LATE_MESSAGE", System.Text.Json.JsonSerializer.Serialize(PaidAfterExpiry, PagesJsonContext.Default.String), StringComparison.Ordinal);

    /// <summary>
    /// Shows only what ECPay's verified post says, then polls GET /transactions/{id} with the signed-in user's token until
    /// the ledger is final: nothing from the database is on the page, so whoever holds the post learns nothing new.
    /// A paid post for an expired or failed deposit is a late payment: the page says so and keeps polling for 2 minutes.
    /// </summary>
    public static string OrderResult(long transactionId, PaymentResult result)
    {
        var ecpayPaid = result.IsRealPayment;
        var ecpaySays = result.Status == TradeStatus.Paid ? "ECPay reports the payment succeeded; waiting for confirmation…"
            : $"ECPay reports: {result.Message} (code {int.Parse(result.Code, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)}).";
        var id = transactionId.ToString(CultureInfo.InvariantCulture);
        return $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Payment {{H(result.MerchantTradeNo)}}</title>{{Style}}</head>
            <body data-transaction-id="{{id}}" data-ecpay-paid="{{(ecpayPaid ? "true" : "false")}}">
            <h1>Your deposit</h1>
            <div class="card">
              <dl>
                <dt>Order</dt><dd data-testid="merchant-trade-no">{{H(result.MerchantTradeNo)}}</dd>
                <dt>Amount</dt><dd data-testid="amount">{{result.TradeAmt?.ToString(CultureInfo.InvariantCulture)}} TWD</dd>
                <dt>ECPay trade number</dt><dd>{{H(result.TradeNo)}}</dd>
                <dt>Payment type</dt><dd>{{H(result.PaymentType)}}</dd>
              </dl>
              <p data-testid="ecpay-message">{{H(ecpaySays)}}</p>
              <p>Status: <span id="status" data-testid="status" class="status">…</span></p>
              <p>Balance: <span id="balance" data-testid="balance">…</span> TWD</p>
              <p id="signed-out" data-testid="signed-out" hidden>Sign in on <a href="/">your account page</a> to see this deposit's status.</p>
            </div>
            <p><a href="/" data-testid="back">Back to your account</a></p>
            <script src="/session.js"></script>
            <script>{{OrderResultScript}}</script>
            </body></html>
            """;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class PagesJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
