namespace EcpayEvents.Ecpay;

public sealed class QueryTradeInfoOptions
{
    public EcpayUrls Endpoints { get; set; } = EcpayUrls.Stage;
    public EcpayCredentials? Credentials { get; set; }
    public string? PlatformId { get; set; }
    /// <summary>Per attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>All attempts and back-off together.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>Retries on transport errors, timeouts and 5xx (never on 403).</summary>
    public int MaxRetries { get; set; } = 2;
    /// <summary>First back-off delay; exponential with jitter after that.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// After a 403, how long this process answers <see cref="QueryTradeInfoResult.Throttled"/> without calling
    /// ECPay. ECPay's block lasts about 30 minutes and more requests would prolong it.
    /// Zero turns the cool-down off.
    /// </summary>
    public TimeSpan ThrottleCoolDown { get; set; } = TimeSpan.FromMinutes(30);
}
