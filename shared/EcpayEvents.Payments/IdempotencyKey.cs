namespace EcpayEvents.Payments;

/// <summary>
/// The Idempotency-Key header of the requests that create something (deposits, withdrawals): one key per user,
/// stored in transactions.idempotency_key (unique per user), so a retried request replays the first result.
/// </summary>
public static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";
    public const int MaxLength = 64;

    /// <summary>Null when <paramref name="key"/> is absent or valid; else what is wrong with it.</summary>
    public static string? Problem(string? key) =>
        key is null || (key.Length is > 0 and <= MaxLength && key.All(c => c is > ' ' and <= '~'))
            ? null
            : $"must be 1–{MaxLength} visible ASCII characters.";
}
