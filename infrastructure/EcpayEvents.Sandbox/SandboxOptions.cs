using EcpayEvents.Ecpay;

namespace EcpayEvents.Sandbox;

/// <summary>Bound from the <c>Sandbox</c> section (e.g. <c>--Sandbox:RetryInterval=00:00:01</c>).</summary>
public sealed class SandboxOptions
{
    /// <summary>The merchant the sandbox knows; defaults to ECPay's public stage merchant.</summary>
    public string MerchantId { get; set; } = EcpayCredentials.Stage.MerchantId;
    public string HashKey { get; set; } = EcpayCredentials.Stage.HashKey;
    public string HashIv { get; set; } = EcpayCredentials.Stage.HashIv;
    /// <summary>Wait between re-sends of a notification not answered exactly <c>1|OK</c> (ECPay: 5–15 minutes).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Attempts per notification, the first included (ECPay: up to 4 a day for several days).</summary>
    public int MaxAttempts { get; set; } = 5;
    /// <summary>Send every notification a second time after it was acknowledged (as ECPay sometimes does).</summary>
    public bool SendTwice { get; set; }
    /// <summary>Also post a failed card payment (RtnCode ≠ 1) to ReturnURL, so settlement's failure path runs.</summary>
    public bool NotifyFailures { get; set; } = true;
    /// <summary>How far QueryTradeInfo's TimeStamp may be from now (ECPay: about 3 minutes).</summary>
    public TimeSpan QueryTimeStampTolerance { get; set; } = TimeSpan.FromMinutes(3);
    /// <summary>Timeout of one notification post (ECPay expects an answer within 10 s).</summary>
    public TimeSpan NotificationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public EcpayCredentials Credentials => new(MerchantId, HashKey, HashIv);
}
