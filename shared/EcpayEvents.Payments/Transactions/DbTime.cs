namespace EcpayEvents.Payments;

/// <summary>
/// The ledger stores instants as UTC in DATETIME(6) columns (MySqlConnector reads them back as
/// Unspecified): written from the app's clock as UTC, read back as UTC, microsecond precision.
/// </summary>
internal static class DbTime
{
    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    public static DateTimeOffset? Utc(DateTime? value) => value is { } v ? Utc(v) : null;

    /// <summary>The instant as the database will store it (DATETIME(6) keeps microseconds).</summary>
    public static DateTimeOffset Microseconds(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % 10, TimeSpan.Zero);

    public static DateTime ToDb(DateTimeOffset value) => Microseconds(value).UtcDateTime;
}
