<#
.SYNOPSIS
  Stops and removes the pgvigil Windows service, and takes back the rights install.ps1 granted
  on the PostgreSQL service. Keeps %ProgramData%\pgvigil (config, state) unless -RemoveData.

.DESCRIPTION
  Run from an elevated PowerShell:
    .\uninstall.ps1
    .\uninstall.ps1 -PostgresService postgresql-x64-16 -Account "NT AUTHORITY\LocalService" -RemoveData
#>
[CmdletBinding()]
param(
  [string]$ServiceName = 'pgvigil',
  [string]$Account = 'NT AUTHORITY\LocalService',
  [string]$PostgresService = 'postgresql-x64-15',
  [string]$DataDir = (Join-Path $env:ProgramData 'pgvigil'),
  [switch]$RemoveData
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Invoke-Sc {
  $out = & sc.exe @args 2>&1 | Out-String
  if ($LASTEXITCODE -ne 0) { throw "sc.exe $($args -join ' ') failed ($LASTEXITCODE): $out" }
  return $out
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'uninstall.ps1 must run elevated (Run as administrator)'
}

# 1. The agent's service: stop (bounded), delete.
$svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($svc) {
  if ($svc.Status -ne 'Stopped') {
    Stop-Service -Name $ServiceName -Force -ErrorAction SilentlyContinue
    $svc.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
  }
  Invoke-Sc delete $ServiceName | Out-Null
  Write-Host "  deleted service $ServiceName"
} else {
  Write-Host "  no service $ServiceName"
}

# 2. The ACE install.ps1 added to the PostgreSQL service, exactly that one.
if ($PostgresService -and $Account -ne 'LocalSystem' -and
    (Get-Service -Name $PostgresService -ErrorAction SilentlyContinue)) {
  $sid = (New-Object System.Security.Principal.NTAccount($Account)).Translate(
    [System.Security.Principal.SecurityIdentifier]).Value
  $ace = "(A;;LCRPWP;;;$sid)"
  $sddl = ((Invoke-Sc sdshow $PostgresService) -split "`r?`n" | Where-Object { $_ -match '^\s*[DOGS]:' }) -join ''
  $sddl = $sddl.Trim()
  if ($sddl.Contains($ace)) {
    Invoke-Sc sdset $PostgresService $sddl.Replace($ace, '') | Out-Null
    Write-Host "  revoked $sid's start/stop/query rights on $PostgresService"
  }
}

# 3. Data, only when asked.
if ($RemoveData -and (Test-Path -LiteralPath $DataDir)) {
  Remove-Item -LiteralPath $DataDir -Recurse -Force
  Write-Host "  removed $DataDir"
}
Write-Host 'pgvigil uninstalled.'
