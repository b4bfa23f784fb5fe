using System.Globalization;

namespace EcpayEvents.Cli.Output;

/// <summary>How times and durations read in text output (UTC).</summary>
public static class Times
{
    public static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string UtcMillis(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan d) =>
        d.TotalDays >= 1 ? $"{(int)d.TotalDays}d{d.Hours:00}h{d.Minutes:00}m"
        : d.TotalHours >= 1 ? $"{(int)d.TotalHours}h{d.Minutes:00}m{d.Seconds:00}s"
        : d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes}m{d.Seconds:00}s"
        : string.Create(CultureInfo.InvariantCulture, $"{d.TotalSeconds:0.000}s");
}
