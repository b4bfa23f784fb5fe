using EcpayEvents.Hosting;
var app = EcpayEvents.Hosting.ServiceHost.CreateBuilder(args, defaultPort: 0).Build();
app.MapHealth();
app.Run();
