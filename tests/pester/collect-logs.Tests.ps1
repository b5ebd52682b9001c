# collect-logs on a fake PC: one zip with the logs, redacted link.json, facts, events and a manifest.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/collect-logs.ps1'
    Set-FakeMachineMock
    Add-Type -AssemblyName System.IO.Compression
    Add-Type -AssemblyName System.IO.Compression.FileSystem

    function Read-ZipBundle {
        # Entry names, and the text of the entries asked for, read without extracting.
        param([Parameter(Mandatory = $true)] [string] $ZipPath, [string[]] $Read = @())
        $archive = [System.IO.Compression.ZipFile]::OpenRead($ZipPath)
        try {
            $texts = @{}
            foreach ($entry in $archive.Entries) {
                if ($Read -contains $entry.FullName) {
                    $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList $entry.Open()
                    try {
                        $texts[$entry.FullName] = $reader.ReadToEnd()
                    } finally {
                        $reader.Dispose()
                    }
                }
            }
            return [pscustomobject]@{ Names = @($archive.Entries | ForEach-Object { $_.FullName }); Texts = $texts }
        } finally {
            $archive.Dispose()
        }
    }
}

Describe 'collect-logs' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $companyId = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b'
        $secret = 'connector-secret-7Qx'
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}","auth":{{"token":"{1}","expires":3600}},"sync":true}}' -f $companyId, $secret)
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $tray = Add-FakeTrayProcess -Machine $machine -ClientName 'Acme Books' -User 'alice'
        $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QuickBooks\qbsdklog.txt') -Text ("====== QBSDK session started ======`r`nError = 0x8004041D`r`n")
        Add-FakeEvent -Machine $machine -Provider 'QuickBooks' -Message 'QuickBooks Desktop stopped responding.'
        Add-FakeEvent -Machine $machine -Provider 'Service Control Manager' -Message 'An unrelated service failed.'
        $outputDirectory = Join-Path -Path $machine.Root -ChildPath 'bundles'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'writes one zip with the logs, a redacted link.json and a manifest' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        (Get-ResultCheck -Result $run.Result -Name 'bundle-written')[0].passed | Should -BeTrue
        $zipPath = [string]$run.Result.data.bundle.path
        $zipPath | Should -BeLike (Join-Path -Path $outputDirectory -ChildPath 'qbd-logs-*.zip')
        Test-Path -LiteralPath $zipPath -PathType Leaf | Should -BeTrue
        # The staging folder is gone: only the zip stays.
        @(Get-ChildItem -LiteralPath $outputDirectory) | Should -HaveCount 1
        $run.Result.data.event_count | Should -Be 1

        $prefix = 'connector/legacy-Acme Books'
        $bundle = Read-ZipBundle -ZipPath $zipPath -Read @('manifest.json', ($prefix + '/link.json'))
        foreach ($name in @('manifest.json', 'facts.json', 'events.json', ($prefix + '/link.json'))) {
            $bundle.Names | Should -Contain $name
        }
        @($bundle.Names | Where-Object { $_.StartsWith('tasks/') }) | Should -HaveCount 2

        $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
        $manifest.redacted | Should -BeTrue
        @($manifest.files).Count | Should -Be (@($bundle.Names).Count - 1)
        $linkEntry = @($manifest.files | Where-Object { $_.name -eq ($prefix + '/link.json') })
        $linkEntry | Should -HaveCount 1
        $linkEntry[0].redacted | Should -BeTrue
        $factsEntry = @($manifest.files | Where-Object { $_.name -eq 'facts.json' })
        $factsEntry[0].sha256 | Should -Match '^[0-9a-f]{64}$'
        $factsEntry[0].truncated | Should -BeFalse

        $link = $bundle.Texts[$prefix + '/link.json']
        $link | Should -BeLike ('*{0}*' -f $companyId)
        $link | Should -BeLike '*REDACTED*'
        $link | Should -Not -BeLike ('*{0}*' -f $secret)
        $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
        (Get-ResultMessage -Result $run.Result -Text 'replaced by REDACTED') | Should -HaveCount 1
    }

    It 'leaves nothing behind under -WhatIf but lists what it would collect' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory; WhatIf = $true }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.Result.data.bundle.path | Should -BeNullOrEmpty
        @($run.Result.data.collected | Where-Object { $_.name -eq 'connector/legacy-Acme Books/link.json' }) | Should -HaveCount 1
        @(Get-ChildItem -LiteralPath $outputDirectory) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'Nothing was left on the PC') | Should -HaveCount 1
    }

    It 'names each connector log by its place under the connector folder' {

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $prefix = 'connector/legacy-Acme Books'
        $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('manifest.json')
        $bundle.Names | Should -Contain ($prefix + '/logs/connector.log')
        $bundle.Names | Should -Contain ($prefix + '/logs/connector.log.1')
        $bundle.Names | Should -Contain 'quickbooks/qbsdklog.txt'
        $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
        $logEntry = @($manifest.files | Where-Object { $_.name -eq ($prefix + '/logs/connector.log') })
        $logEntry | Should -HaveCount 1
        $logEntry[0].sha256 | Should -Match '^[0-9a-f]{64}$'
        $logEntry[0].truncated | Should -BeFalse
        @($run.Result.data.collected | Where-Object { $_.name -eq ($prefix + '/logs/connector.log') }) | Should -HaveCount 1
    }

    It 'names the owners it can read in facts.json and carries on past those it cannot' {
        # QuickBooks of another session whose owner is not readable (GetOwner answers 2), and
        # the Web Connector, which exits between being listed and being asked for its owner.
        $null = Add-FakeProcess -Machine $machine -Name 'QBW32.exe' -ExecutablePath 'C:\Program Files\Intuit\QuickBooks 2024\QBW32.exe'
        $gone = Add-FakeProcess -Machine $machine -Name 'QBWebConnector.exe' -ExecutablePath 'C:\Program Files (x86)\Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe' -User 'alice'
        $null = $machine.EndAfterListing.Add($gone.ProcessId)

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('facts.json')
        $facts = ConvertFrom-Json -InputObject $bundle.Texts['facts.json']
        $owners = @{}
        foreach ($process in @($facts.processes)) { $owners[[string]$process.name] = [string]$process.owner }
        @($facts.processes) | Should -HaveCount 3
        $owners['QuickbooksDesktopUI.exe'] | Should -Be 'PC\alice'
        $owners['QBW32.exe'] | Should -Be ''
        $owners['QBWebConnector.exe'] | Should -Be ''
    }

    It 'writes to the temporary folder without -OutputDirectory and, not run as SYSTEM, says nothing about SYSTEM' {
        # Whether the script runs as SYSTEM is read from .NET's WindowsIdentity, which exists only
        # on Windows and which no mock reaches: the SYSTEM case itself needs a SYSTEM run.
        Skip-OffWindows -Because 'collect-logs asks .NET''s WindowsIdentity who runs it, which exists only on Windows'

        $run = Invoke-RenderedScript -ScriptPath $script:Path
        $zipPath = [string]$run.Result.data.bundle.path
        try {
            $run.Result.status | Should -Be 'ok' -Because $run.Json
            [System.IO.Path]::GetDirectoryName($zipPath).TrimEnd('\') | Should -Be ([System.IO.Path]::GetTempPath().TrimEnd('\'))
            (Get-ResultMessage -Result $run.Result -Text 'Run as SYSTEM') | Should -HaveCount 0
        } finally {
            if ($zipPath -and (Test-Path -LiteralPath $zipPath)) { Remove-Item -LiteralPath $zipPath -Force }
        }
    }

    It 'refuses a relative output folder' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = 'bundles' }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        (Get-ResultMessage -Result $run.Result -Text 'must be an absolute path') | Should -HaveCount 1
    }
}
