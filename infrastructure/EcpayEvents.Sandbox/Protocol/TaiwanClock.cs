using System.Globalization;

namespace EcpayEvents.Sandbox.Protocol;

/// <summary>ECPay's dates: Taiwan wall-clock time (UTC+8, no DST), <c>yyyy/MM/dd HH:mm:ss</c> (every AIO page's date fields).</summary>
public static class TaiwanClock
{
    public static readonly TimeSpan Offset = TimeSpan.FromHours(8);

    public static DateTimeOffset Local(DateTimeOffset instant) => instant.ToOffset(Offset);

    public static string DateTime(DateTimeOffset instant) => Local(instant).ToString("yyyy/MM/dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Date(DateTimeOffset instant) => Local(instant).ToString("yyyy/MM/dd", CultureInfo.InvariantCulture);

    public static bool IsDateTime(string? text) =>
        System.DateTime.TryParseExact(text, "yyyy/MM/dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    /// <summary>23:59:59 Taiwan time of the day the instant falls on (a date-only ExpireDate as an instant).</summary>
    public static DateTimeOffset EndOfDay(DateTimeOffset instant) =>
        new DateTimeOffset(Local(instant).Date, Offset).AddDays(1).AddSeconds(-1);
}
