using System.ComponentModel.DataAnnotations;

namespace EcpayEvents.Payments;

/// <summary>The <c>Database</c> configuration section of every service that opens <see cref="PaymentsDatabase"/>.</summary>
public sealed class DatabaseOptions
{
    /// <summary>MySqlConnector connection string (env <c>Database__ConnectionString</c>; from SSM on AWS).</summary>
    [Required(ErrorMessage = "Database:ConnectionString is required.")]
    public string ConnectionString { get; set; } = "";

    // The connection string holds a password.
    public override string ToString() => "DatabaseOptions { ConnectionString = *** }";
}
