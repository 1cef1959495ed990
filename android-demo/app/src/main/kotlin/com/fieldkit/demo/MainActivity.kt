// The demo's only activity: hosts the Compose screens, asks for the location permission,
// runs the camera, reads the position, and opens map apps for navigation.
package com.fieldkit.demo

import android.Manifest
import android.content.ActivityNotFoundException
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.widget.Toast
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.core.content.FileProvider
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.lifecycleScope
import com.fieldkit.core.model.LocationFix
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.io.File

/** Shows the login screen or the rep's day, from [DemoViewModel]'s state. */
class MainActivity : ComponentActivity() {
    private val model: DemoViewModel by viewModels()
    private val photoFile by lazy { File(cacheDir, "camera/photo.jpg").apply { parentFile?.mkdirs() } }

    private val askLocation = registerForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) {}

    private val camera = registerForActivityResult(ActivityResultContracts.TakePicture()) { saved ->
        if (!saved) return@registerForActivityResult
        lifecycleScope.launch {
            val jpeg = withContext(Dispatchers.IO) { photoFile.readBytes() }
            model.repDay?.takePhoto(jpeg, model.locator.currentFix())
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        askLocation.launch(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION))
        setContent {
            MaterialTheme {
                val repDay = model.repDay
                if (repDay == null) {
                    // FieldKit did not open (e.g. a database from a newer app): say why, do not crash.
                    Text(model.openError.orEmpty(), Modifier.padding(24.dp))
                } else {
                    val state = repDay.state.collectAsStateWithLifecycle().value
                    RepDayApp(state = state, actions = repDay, device = device)
                }
            }
        }
    }

    /** The phone's services for the screens. */
    private val device = object : Device {
        override fun openUri(uri: String, androidPackage: String?) = this@MainActivity.openUri(uri, androidPackage)

        override fun withFix(use: (LocationFix) -> Unit) = this@MainActivity.withFix(use)

        override fun takePhoto() =
            camera.launch(FileProvider.getUriForFile(this@MainActivity, "$packageName.camera", photoFile))
    }

    /** Reads the position, then runs `use`; says so when there is none. */
    private fun withFix(use: (LocationFix) -> Unit) {
        lifecycleScope.launch {
            val fix = model.locator.currentFix()
            if (fix == null) {
                Toast.makeText(this@MainActivity, "No location: allow location access and try again", Toast.LENGTH_LONG).show()
            } else {
                use(fix)
            }
        }
    }

    /** Hands a navigation URI to the map app it is for (or any app that handles it). */
    private fun openUri(uri: String, androidPackage: String?) {
        val intent = Intent(Intent.ACTION_VIEW, Uri.parse(uri))
        try {
            startActivity(if (androidPackage != null) Intent(intent).setPackage(androidPackage) else intent)
        } catch (_: ActivityNotFoundException) {
            try {
                startActivity(intent)
            } catch (_: ActivityNotFoundException) {
                Toast.makeText(this, "No map app installed for this link", Toast.LENGTH_SHORT).show()
            }
        }
    }
}
