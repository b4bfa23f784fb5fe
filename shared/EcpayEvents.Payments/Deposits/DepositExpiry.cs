using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Deposits;

/// <summary>When a deposit expires, and the ECPay parameters that make ECPay's deadline match.</summary>
public sealed record DepositExpiry(DateTimeOffset ExpiresAt, int? ExpireDate, int? StoreExpireDate)
{
    /// <summary>
    /// Online: created + Online. ATM/BARCODE: whole Taiwan days, ending at the end of the last one (a shorter, local
    /// setting is sent as 1 day). CVS: exact minutes. ALL: online, plus ATM's ExpireDate. ECPay's deadline is never earlier than ours.
    /// </summary>
    public static DepositExpiry For(string method, DateTimeOffset createdAt, DepositExpiryOptions options) => method switch
    {
        ChoosePayment.Atm => Days(createdAt, options.Atm, 60, atm: true),
        ChoosePayment.Barcode => Days(createdAt, options.Barcode, 30, atm: false),
        ChoosePayment.Cvs => new(createdAt + options.Cvs, null, (int)Math.Clamp(Math.Ceiling(options.Cvs.TotalMinutes), 1, 43_200)),
        ChoosePayment.All => new(createdAt + options.Online, AtmDays(options.Atm), null),
        _ => new(createdAt + options.Online, null, null),
    };

    private static int AtmDays(TimeSpan atm) => (int)Math.Clamp(Math.Ceiling(atm.TotalDays), 1, 60);

    private static DepositExpiry Days(DateTimeOffset createdAt, TimeSpan setting, int maxDays, bool atm)
    {
        var days = (int)Math.Clamp(Math.Ceiling(setting.TotalDays), 1, maxDays);
        var wholeDays = setting.Ticks % TimeSpan.TicksPerDay == 0;
        var expiresAt = wholeDays ? EndOfTaiwanDay(createdAt, days) : createdAt + setting;
        return atm ? new(expiresAt, days, null) : new(expiresAt, null, days);
    }

    private static DateTimeOffset EndOfTaiwanDay(DateTimeOffset instant, int daysLater)
    {
        var taiwan = TaiwanTime.ToTaiwan(instant);
        var day = new DateTimeOffset(taiwan.Date, TaiwanTime.Offset).AddDays(daysLater + 1).AddSeconds(-1);
        return day.ToUniversalTime();
    }
}
