<#
.SYNOPSIS
  Registers pgvigil as a Windows service that runs `pgvigil run --service -c <config>`, with
  recovery actions, and lets its account start, stop and query the PostgreSQL service it watches.
  `pgvigil service install` does the same from pgvigil.exe itself for the built-in accounts
  (LocalService, NetworkService, LocalSystem); this script also takes a user account and its
  password.

.DESCRIPTION
  Run from an elevated PowerShell (Windows PowerShell 5.1 or PowerShell 7):
    .\install.ps1                                   # defaults below
    .\install.ps1 -PostgresService postgresql-x64-16 -Account "NT AUTHORITY\LocalService"
  Idempotent: an existing pgvigil service is reconfigured, an ACE already granted is kept.
  docs\windows.md explains every step. Undo with uninstall.ps1.

.PARAMETER Binary          pgvigil.exe (default: %ProgramFiles%\pgvigil\pgvigil.exe)
.PARAMETER Config          the YAML config (default: %ProgramData%\pgvigil\pgvigil.yaml)
.PARAMETER ServiceName     the agent's service name (default: pgvigil)
.PARAMETER Account         the account the agent runs as (default: NT AUTHORITY\LocalService);
                           LocalSystem needs no grant, any other account gets one (below)
.PARAMETER PostgresService the PostgreSQL service to grant SERVICE_QUERY_STATUS, SERVICE_START
                           and SERVICE_STOP on (sc sdset); "" grants nothing
.PARAMETER Password        for a normal user account (read as a SecureString when omitted)
#>
[CmdletBinding()]
param(
  [string]$Binary = (Join-Path $env:ProgramFiles 'pgvigil\pgvigil.exe'),
  [string]$Config = (Join-Path $env:ProgramData 'pgvigil\pgvigil.yaml'),
  [string]$ServiceName = 'pgvigil',
  [string]$Account = 'NT AUTHORITY\LocalService',
  [string]$PostgresService = 'postgresql-x64-15',
  [SecureString]$Password
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Invoke-Sc {
  # sc.exe with its arguments; throws with sc's own message on a non-zero exit.
  $out = & sc.exe @args 2>&1 | Out-String
  if ($LASTEXITCODE -ne 0) { throw "sc.exe $($args -join ' ') failed ($LASTEXITCODE): $out" }
  return $out
}

function Get-Sid([string]$Name) {
  $nt = New-Object System.Security.Principal.NTAccount($Name)
  return $nt.Translate([System.Security.Principal.SecurityIdentifier]).Value
}

function Grant-ServiceControl([string]$Service, [string]$Sid) {
  # LC = SERVICE_QUERY_STATUS, RP = SERVICE_START, WP = SERVICE_STOP; nothing else.
  $ace = "(A;;LCRPWP;;;$Sid)"
  $sddl = ((Invoke-Sc sdshow $Service) -split "`r?`n" | Where-Object { $_ -match '^\s*[DOGS]:' }) -join ''
  $sddl = $sddl.Trim()
  if (-not $sddl) { throw "no security descriptor read for service $Service" }
  if ($sddl.Contains($ace)) { Write-Host "  $Service already grants $Sid start/stop/query"; return }
  $at = $sddl.IndexOf('S:')   # the SACL follows the DACL; the new ACE ends the DACL
  $new = if ($at -ge 0) { $sddl.Insert($at, $ace) } else { $sddl + $ace }
  Invoke-Sc sdset $Service $new | Out-Null
  Write-Host "  granted $Sid SERVICE_QUERY_STATUS|SERVICE_START|SERVICE_STOP on $Service"
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'install.ps1 must run elevated (Run as administrator)'
}
if (-not (Test-Path -LiteralPath $Binary)) { throw "pgvigil not found at $Binary (-Binary)" }

# 1. Config and state directory, writable by the agent's account.
$dataDir = Split-Path -Parent $Config
New-Item -ItemType Directory -Force -Path $dataDir | Out-Null
New-Item -ItemType Directory -Force -Path (Join-Path $dataDir 'state') | Out-Null
if (-not (Test-Path -LiteralPath $Config)) {
  $example = Join-Path (Split-Path -Parent $Binary) 'config\windows.yaml'
  if (Test-Path -LiteralPath $example) {
    Copy-Item -LiteralPath $example -Destination $Config
    Write-Host "  wrote ${Config} from ${example}: edit it, then: Restart-Service $ServiceName"
  } else {
    Write-Warning "no config at $Config yet: the service will not start until there is one"
  }
}
& icacls.exe $dataDir /grant "${Account}:(OI)(CI)M" /T /Q | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls on $dataDir failed ($LASTEXITCODE)" }

# 2. The service: `pgvigil run --service -c CONFIG` (--service: report to the SCM; without it
#    the SCM would time the start out), automatic (delayed) start, never dependent on PostgreSQL
#    (it must run while PostgreSQL is down).
$binPath = "`"$Binary`" run --service -c `"$Config`""
$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($existing) {
  if ($existing.Status -ne 'Stopped') { Stop-Service -Name $ServiceName -Force }
  # New-Service quotes correctly; for an existing one the CIM method does (sc.exe config would
  # need PowerShell-version-specific quote escaping).
  $svc = Get-CimInstance Win32_Service -Filter "Name='$ServiceName'"
  $r = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments @{ PathName = $binPath }
  if ($r.ReturnValue -ne 0) { throw "changing the binary path of $ServiceName failed: $($r.ReturnValue)" }
  Write-Host "  updated service $ServiceName"
} else {
  New-Service -Name $ServiceName -BinaryPathName $binPath -DisplayName 'pgvigil PostgreSQL watchdog' `
    -Description 'Checks PostgreSQL and restarts its service when it is down or hung (pgvigil).' `
    -StartupType Automatic | Out-Null
  Write-Host "  created service $ServiceName"
}
Invoke-Sc config $ServiceName start= delayed-auto | Out-Null
if ($Account -match '^(LocalSystem|NT AUTHORITY\\(LocalService|NetworkService))$') {
  Invoke-Sc config $ServiceName obj= $Account | Out-Null
} else {
  if (-not $Password) { $Password = Read-Host -AsSecureString "Password for $Account" }
  $plain = [Runtime.InteropServices.Marshal]::PtrToStringBSTR(
    [Runtime.InteropServices.Marshal]::SecureStringToBSTR($Password))
  try { Invoke-Sc config $ServiceName obj= $Account password= $plain | Out-Null }
  finally { $plain = $null }
}

# 3. Recovery: if pgvigil itself dies, the SCM restarts it (5 s, 5 s, then every 60 s; the count
#    resets after a day without failures). failureflag 1: also when it stops with an error exit.
Invoke-Sc failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/60000 | Out-Null
Invoke-Sc failureflag $ServiceName 1 | Out-Null

# 4. The Windows event log source for `log.output: eventlog`.
if (-not [System.Diagnostics.EventLog]::SourceExists('pgvigil')) {
  New-EventLog -LogName Application -Source pgvigil
}

# 5. Let a non-LocalSystem account control the PostgreSQL service.
if ($PostgresService -and $Account -ne 'LocalSystem') {
  if (-not (Get-Service -Name $PostgresService -ErrorAction SilentlyContinue)) {
    Write-Warning "service $PostgresService not found (sc query): no rights granted (-PostgresService)"
  } else {
    Grant-ServiceControl $PostgresService (Get-Sid $Account)
  }
}

Write-Host "pgvigil installed as service $ServiceName ($Account). Start it with: Start-Service $ServiceName"
