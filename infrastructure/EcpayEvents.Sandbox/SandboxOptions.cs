namespace EcpayEvents.Sandbox;

/// <summary>Bound from the <c>Sandbox</c> section (e.g. <c>--Sandbox:RetryInterval=00:00:01</c>).</summary>
public sealed class SandboxOptions
{
    // ECPay's public stage merchant, published on developers.ecpay.com.tw for testing: not a secret.
    public string MerchantId { get; set; } = "3002607";
    public string HashKey { get; set; } = "pwFHCqoQZGmho4w6";
    public string HashIv { get; set; } = "EkRm7iFT261dpevs";
    /// <summary>
    /// Wait before the first re-send of a notification not answered exactly <c>1|OK</c>; each later wait
    /// is <see cref="RetryBackoff"/> times longer, at most <see cref="MaxRetryInterval"/>. ECPay re-sends
    /// every 5–15 minutes, up to 4 times a day for several days; the sandbox keeps that shape (growing
    /// gaps, a bounded number of attempts) compressed into minutes so a local run can watch it.
    /// </summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Factor between successive re-send waits (1 = a fixed interval).</summary>
    public double RetryBackoff { get; set; } = 2.0;
    /// <summary>The longest wait between two re-sends.</summary>
    public TimeSpan MaxRetryInterval { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>
    /// Attempts per notification, the first included; then the sandbox gives up (bounded, like ECPay).
    /// With the defaults: re-sends after 5 s, 10 s, 20 s, 40 s, 80 s, 160 s, 300 s — about 10 minutes.
    /// </summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The wait after failed attempt number <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan RetryDelay(int attempt)
    {
        var factor = Math.Pow(Math.Max(1.0, RetryBackoff), Math.Max(0, attempt - 1));
        var ticks = Math.Min(RetryInterval.Ticks * factor, Math.Max(RetryInterval.Ticks, MaxRetryInterval.Ticks));
        return TimeSpan.FromTicks((long)ticks);
    }
    /// <summary>Send every notification a second time after it was acknowledged (as ECPay sometimes does).</summary>
    public bool SendTwice { get; set; }
    /// <summary>Also post a failed card payment (RtnCode ≠ 1) to ReturnURL, so settlement's failure path runs.</summary>
    public bool NotifyFailures { get; set; } = true;
    /// <summary>How far QueryTradeInfo's TimeStamp may be from now (查詢訂單 ?p=2890, field TimeStamp: 3 minutes).</summary>
    public TimeSpan QueryTimeStampTolerance { get; set; } = TimeSpan.FromMinutes(3);
    /// <summary>Timeout of one notification post (ECPay expects an answer within 10 s).</summary>
    public TimeSpan NotificationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>ECPay's behaviours a test switches on (<c>Sandbox:Behaviour:…</c>, or POST /sandbox/behaviour at run time).</summary>
    public SandboxBehaviour Behaviour { get; set; } = new();
}
